"""Declared data stores: encrypted at rest, keys kept apart from the data; and whether the IaC
contradicts what is declared."""

from __future__ import annotations

from collections.abc import Iterator

from posture.checks._declared import declared_vs_observed_needs, no_data_stores, runs_as, where
from posture.checks.collectors.declared import DeclaredFacts, collect_declared
from posture.controls.data import DataStore
from posture.model import Area, EvidenceSource, Result, Severity, Status, TargetKind
from posture.plugin import CheckContext, Outcome, check
from posture.runner import ScanFacts

__all__ = ["collect_declared"]
DECLARED = EvidenceSource.DECLARED


@check(
    needs=no_data_stores,
    id="ENC-DATASTORE-AT-REST",
    title="Data store with personal data not encrypted at rest",
    area=Area.ENCRYPTION,
    severity=Severity.HIGH,
    target=TargetKind.CONTROLS,
    facts="declared",
    description="Encryption at rest is what keeps a stolen disk or snapshot from becoming a breach that "
    "must be notified to every customer (GDPR Art. 34(3)(a); CCPA 1798.150 reaches only nonencrypted data).",
    remediation="Enable storage encryption with keys in a KMS or HSM, separate from the data.",
)
def at_rest(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    beside = {str(k) for k in ctx.policy.get("controls.keys_beside_data", [])}
    for index, store in enumerate(facts.controls.data_stores):
        at = where(ctx, "data_stores", index)
        if not store.personal_data:
            continue
        enc = store.encryption
        if enc is None or not enc.enabled:
            state = "not declared" if enc is None else "off"
            yield Outcome.fail(
                f"{store.name}: encryption at rest {state}",
                resource=store.name,
                location=at,
                source=DECLARED,
                evidence={"personal_data": store.personal_data},
                key="off",
            )
        elif enc.key_management in beside or enc.key_management == "none":
            yield Outcome.fail(
                f"{store.name}: keys kept beside the data ({enc.key_management})",
                resource=store.name,
                location=at,
                source=DECLARED,
                key="keys",
                severity=Severity.MEDIUM,
                evidence={"personal_data": store.personal_data},
            )
        else:
            yield Outcome.passed(
                f"{store.name}: encrypted, keys in {enc.key_management or 'unspecified'}",
                resource=store.name,
                source=DECLARED,
                evidence={"personal_data": store.personal_data},
            )


@check(
    id="ENC-DECLARED-VS-IAC",
    title="Declared encryption contradicted by the infrastructure code or the live account",
    area=Area.ENCRYPTION,
    severity=Severity.HIGH,
    target=TargetKind.SCAN,
    facts="results",
    needs=declared_vs_observed_needs(
        lambda s: bool(s.encryption and s.encryption.enabled), "encryption"
    ),
    remediation="Fix the IaC (or the declaration): they must agree.",
)
def declared_vs_iac(facts: ScanFacts, ctx: CheckContext) -> Iterator[Outcome]:
    if ctx.config is None:
        return
    failing = [
        r
        for r in facts.results
        if r.target_kind.value == "iac" and r.status is Status.FAIL and r.area is Area.ENCRYPTION
    ]
    live = [
        r for r in facts.results if r.target_kind.value == "cloud" and r.area is Area.ENCRYPTION
    ]
    compared = [
        s
        for s in ctx.config.controls.data_stores
        if s.encryption and s.encryption.enabled and (s.iac_resources or s.cloud_resources)
    ]
    if not compared:
        yield Outcome.skip(
            "no data store is declared encrypted with iac_resources or cloud_resources to compare"
        )
        return
    for index, store in enumerate(ctx.config.controls.data_stores):
        if store not in compared:
            continue
        coded = [r for r in failing if r.resource in store.iac_resources]
        seen = [
            r
            for r in facts.results
            if r.target_kind.value == "iac"
            and r.area is Area.ENCRYPTION
            and r.resource in store.iac_resources
            and r.status in (Status.PASS, Status.FAIL, Status.WAIVED)
        ]
        running = [
            r
            for r in live
            if runs_as(r.resource, store.cloud_resources)
            and r.status in (Status.PASS, Status.FAIL, Status.WAIVED)
        ]
        running_fail = [r for r in running if r.status is Status.FAIL and _contradicts(store, r)]
        code_state = "; ".join(f"{r.check_id} fails for {r.resource}" for r in coded) or (
            "agrees" if seen else "not in the IaC scanned"
        )
        run_state = "; ".join(f"{r.check_id} fails" for r in running_fail) or (
            "agrees" if running else "not observed"
        )
        if not seen and not running:
            yield Outcome.skip(
                f"{store.name}: no encryption rule of the scanned IaC or the live account looked "
                f"at {', '.join(store.iac_resources + store.cloud_resources)}",
                key=store.name,
            )
        elif not coded and not running_fail:
            yield Outcome.passed(
                f"{store.name}: nothing contradicts the declaration (coded: {code_state}; "
                f"running: {run_state})",
                resource=store.name,
                key=store.name,
                # parsed IaC and the live account are both observed evidence
                source=EvidenceSource.OBSERVED,
                evidence={
                    "personal_data": store.personal_data,
                    "declared": "encrypted",
                    "coded": code_state,
                    "running": run_state,
                },
            )
        for r in coded + running_fail:
            side = "the IaC" if r in coded else "the live account"
            yield Outcome.fail(
                f"{store.name} is declared encrypted, but in {side} {r.check_id} fails for {r.resource}",
                resource=store.name,
                key=f"{r.resource}:{r.check_id}",
                location=where(ctx, "data_stores", index),
                source=r.evidence_source,
                evidence={
                    "personal_data": store.personal_data,
                    "declared": "encrypted",
                    "coded": code_state,
                    "running": run_state,
                    "contradicted_by": r.check_id,
                    "at": str(r.location) if r.location else r.resource,
                },
            )


def _contradicts(store: DataStore, result: Result) -> bool:
    """A live encryption failure contradicts the declaration, not just a weaker-key note."""
    enc = store.encryption
    if (
        result.key == "sse-s3"
        or result.check_id == "AWS-DYNAMODB-CMK"
        or result.key == "aws-managed"
    ):
        return enc is not None and enc.key_management in ("kms", "hsm")
    return True
