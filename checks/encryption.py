"""Declared data stores: encrypted at rest, keys kept apart from the data; and whether the IaC
contradicts what is declared."""

from __future__ import annotations

from collections.abc import Iterator

from posture.checks._declared import where
from posture.checks.collectors.declared import DeclaredFacts, collect_declared
from posture.model import Area, EvidenceSource, Severity, Status, TargetKind
from posture.plugin import CheckContext, Outcome, check
from posture.runner import ScanFacts

__all__ = ["collect_declared"]
DECLARED = EvidenceSource.DECLARED


@check(
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
    title="Declared encryption contradicted by the infrastructure code",
    area=Area.ENCRYPTION,
    severity=Severity.HIGH,
    target=TargetKind.SCAN,
    facts="results",
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
    compared = [
        s
        for s in ctx.config.controls.data_stores
        if s.encryption and s.encryption.enabled and s.iac_resources
    ]
    if not compared:
        yield Outcome.skip("no data store is declared encrypted with iac_resources to compare")
        return
    for index, store in enumerate(ctx.config.controls.data_stores):
        if not (store.encryption and store.encryption.enabled and store.iac_resources):
            continue
        hits = [r for r in failing if r.resource in store.iac_resources]
        seen = [
            r
            for r in facts.results
            if r.target_kind.value == "iac"
            and r.area is Area.ENCRYPTION
            and r.resource in store.iac_resources
            and r.status in (Status.PASS, Status.FAIL, Status.WAIVED)
        ]
        if not seen:
            yield Outcome.skip(
                f"{store.name}: no encryption rule of the scanned IaC looked at "
                f"{', '.join(store.iac_resources)}"
            )
        elif not hits:
            yield Outcome.passed(
                f"{store.name}: no encryption rule fails for {', '.join(store.iac_resources)}",
                resource=store.name,
                key=store.name,
                evidence={"personal_data": store.personal_data, "iac": store.iac_resources},
            )
        for r in hits:
            yield Outcome.fail(
                f"{store.name} is declared encrypted, but {r.check_id} fails for {r.resource}",
                resource=store.name,
                key=f"{r.resource}:{r.check_id}",
                location=where(ctx, "data_stores", index),
                evidence={
                    "personal_data": store.personal_data,
                    "declared": "encrypted",
                    "iac_check": r.check_id,
                    "iac_location": str(r.location),
                },
            )
