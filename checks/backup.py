"""Declared backups: in another account/provider and region, encrypted, immutable or offline,
restore-tested; and whether the IaC contradicts a declared cross-region copy."""

from __future__ import annotations

from collections.abc import Iterator

from posture.checks._declared import (
    attestation_evidence,
    days_since,
    declared_vs_observed_needs,
    no_data_stores,
    runs_as,
    where,
)
from posture.checks.collectors.declared import DeclaredFacts, collect_declared
from posture.model import Area, EvidenceSource, Severity, Status, TargetKind
from posture.plugin import CheckContext, Outcome, check
from posture.runner import ScanFacts

__all__ = ["collect_declared"]
DECLARED = EvidenceSource.DECLARED


@check(
    id="BACKUP-SEPARATION",
    title="Backup not separate, encrypted and immutable",
    area=Area.BACKUP,
    severity=Severity.HIGH,
    target=TargetKind.CONTROLS,
    facts="declared",
    needs=no_data_stores,
    description="Each data store's backup must live in another account or provider and another "
    "region (or site) than the data, be encrypted, and have an immutable or offline copy.",
    remediation="Copy backups to a separate account in another region with vault/object lock.",
)
def separation(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    for index, store in enumerate(facts.controls.data_stores):
        at = where(ctx, "data_stores", index, "backup") or where(ctx, "data_stores", index)
        if store.backup is None:
            yield Outcome.fail(
                f"{store.name}: no backup declared",
                resource=store.name,
                location=at,
                source=DECLARED,
                key="none",
            )
            continue
        primary, copy = store.location, store.backup.location
        if primary is not None:
            same_owner = copy.provider == primary.provider and (copy.account or "") == (
                primary.account or ""
            )
            same_place = (copy.region or copy.site or "") == (primary.region or primary.site or "")
            if same_owner:
                yield Outcome.fail(
                    f"{store.name}: backup in the same provider account as the data",
                    resource=store.name,
                    location=at,
                    source=DECLARED,
                    key="account",
                )
            if same_place:
                yield Outcome.fail(
                    f"{store.name}: backup in the same region/site as the data",
                    resource=store.name,
                    location=at,
                    source=DECLARED,
                    key="region",
                )
        if store.backup.encrypted is not True:
            yield Outcome.fail(
                f"{store.name}: backup not declared encrypted",
                resource=store.name,
                location=at,
                source=DECLARED,
                key="encrypted",
                severity=Severity.MEDIUM,
            )
        if not (store.backup.immutable or store.backup.offline_copy):
            yield Outcome.fail(
                f"{store.name}: no immutable or offline copy (ransomware can delete backups)",
                resource=store.name,
                location=at,
                source=DECLARED,
                key="immutable",
                severity=Severity.MEDIUM,
            )


@check(
    id="BACKUP-RESTORE-TEST",
    title="No recent restore test",
    area=Area.BACKUP,
    severity=Severity.MEDIUM,
    target=TargetKind.CONTROLS,
    facts="declared",
    needs=no_data_stores,
    remediation="Restore from backup at least every 90 days and record who did it and when.",
)
def restore_test(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    limit = int(ctx.policy.get("controls.restore_test_max_days", 90))
    for index, store in enumerate(facts.controls.data_stores):
        test = store.backup.restore_test if store.backup else None
        if store.backup is None:
            continue
        if test is None:
            yield Outcome.fail(
                f"{store.name}: no restore test attested",
                resource=store.name,
                source=EvidenceSource.ATTESTED,
                location=where(ctx, "data_stores", index, "backup"),
            )
        elif days_since(ctx, test.date) > limit:
            yield Outcome.fail(
                f"{store.name}: last restore test {days_since(ctx, test.date)} days ago (limit {limit})",
                resource=store.name,
                source=EvidenceSource.ATTESTED,
                evidence=attestation_evidence(test),
                location=where(ctx, "data_stores", index, "backup", "restore_test"),
            )
        else:
            yield Outcome.passed(
                f"{store.name}: restore tested {test.date}",
                resource=store.name,
                source=EvidenceSource.ATTESTED,
                evidence=attestation_evidence(test),
            )


_IAC_BACKUP_GAPS = (
    "IAC-RDS-NO-CROSS-REGION-BACKUP",
    "IAC-S3-DATA-NOT-REPLICATED",
    "IAC-BACKUP-PLAN-NO-COPY",
    "CKV_AWS_144",
)


@check(
    id="BACKUP-DECLARED-VS-IAC",
    title="Declared cross-region backup contradicted by the infrastructure code or the live account",
    area=Area.BACKUP,
    severity=Severity.HIGH,
    target=TargetKind.SCAN,
    facts="results",
    needs=declared_vs_observed_needs(
        lambda s: bool(s.backup and s.backup.cross_region_declared), "a cross-region backup"
    ),
    remediation="Make the IaC copy the backups across regions, or correct the declaration.",
)
def declared_vs_iac(facts: ScanFacts, ctx: CheckContext) -> Iterator[Outcome]:
    if ctx.config is None:
        return
    gaps = [r for r in facts.results if r.status is Status.FAIL and r.check_id in _IAC_BACKUP_GAPS]
    live = [r for r in facts.results if r.check_id in _LIVE_BACKUP_GAPS]
    for index, store in enumerate(ctx.config.controls.data_stores):
        if not (store.backup and store.backup.cross_region_declared):
            continue
        if not (store.iac_resources or store.cloud_resources):
            continue
        coded = [r for r in gaps if r.resource in store.iac_resources]
        running = [r for r in live if runs_as(r.resource, store.cloud_resources)]
        running_fail = [r for r in running if r.status is Status.FAIL]
        code_state = "; ".join(f"{r.check_id} fails for {r.resource}" for r in coded) or (
            "agrees" if store.iac_resources else "not in the IaC scanned"
        )
        run_state = "; ".join(f"{r.check_id} fails" for r in running_fail) or (
            "agrees" if running else "not observed"
        )
        for r in coded + running_fail:
            side = "the IaC" if r in coded else "the live account"
            yield Outcome.fail(
                f"{store.name}: declared cross-region backup, but in {side} {r.check_id} fails for {r.resource}",
                resource=store.name,
                key=f"{r.resource}:{r.check_id}",
                location=where(ctx, "data_stores", index),
                source=r.evidence_source,
                evidence={
                    "declared": "cross-region",
                    "coded": code_state,
                    "running": run_state,
                    "contradicted_by": r.check_id,
                    "at": str(r.location) if r.location else r.resource,
                },
            )


_LIVE_BACKUP_GAPS = ("AWS-RDS-CROSS-REGION-BACKUP", "AWS-S3-REPLICATION")
