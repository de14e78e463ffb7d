"""Observed evidence from a live AWS account: encryption at rest, backup separation, access.

Pure checks over the facts checks/collectors/aws_cloud.py gathered with read-only calls. Every
result names the account, region and ARN, and is *observed* evidence: what the account runs,
not what the code intends or the business declares. When the calls a check needs failed, the
check says it was not evaluated (AWS-API-ACCESS carries the one error per failed call), never
that it passed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from posture.model import Area, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check

from .collectors.aws_cloud import collect_aws
from .collectors.aws_facts import ApiError, AwsFacts

__all__ = ["collect_aws"]

_AWS_DOCS = "https://docs.aws.amazon.com/"
_BACKUP_DOCS = "https://docs.aws.amazon.com/aws-backup/latest/devguide/cross-region-backup.html"


def _ev(facts: AwsFacts, region: str | None, arn: str, **more: Any) -> dict[str, Any]:
    return {"account": facts.account, "region": region or "global", "arn": arn, **more}


def _not_evaluated(facts: AwsFacts, family: str, region: str | None = None) -> Outcome | None:
    errors = facts.blocked(family, region)
    if not errors:
        return None
    first = errors[0]
    where = f" in {region}" if region else ""
    return Outcome.skip(
        f"not evaluated{where}: {first.service}:{first.operation} {first.kind} ({first.code});"
        " see AWS-API-ACCESS",
        key=f"blocked:{region or 'global'}",
        evidence={"account": facts.account, "blocked_by": f"{first.service}:{first.operation}"},
    )


def _skips(facts: AwsFacts, family: str) -> Iterator[Outcome]:
    regions: list[str | None] = list(facts.regions) if family not in ("s3", "iam") else [None]
    for region in regions:
        outcome = _not_evaluated(facts, family, region)
        if outcome is not None:
            yield outcome


def _policy(ctx: CheckContext, key: str, default: Any) -> Any:
    return ctx.policy.get(f"cloud.aws.{key}", default)


@check(
    id="AWS-API-ACCESS",
    title="AWS evidence could not be read",
    area=Area.OTHER,
    severity=Severity.MEDIUM,
    target=TargetKind.CLOUD,
    facts="aws",
    description="A read-only call was refused, throttled past its retries, or failed: the checks "
    "that need its answer were not evaluated for that service and region.",
    remediation="Grant the read-only policy in docs/aws-iam-policy.json to the role posture uses, "
    "or raise cloud.aws.max_attempts when the account is throttled.",
    references=["https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html"],
)
def api_access(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    if not facts.errors:
        yield Outcome.passed(
            f"every read-only call answered ({sum(facts.calls.values())} calls)",
            evidence={"account": facts.account, "regions": list(facts.regions)},
        )
    seen: set[tuple[str, str, str]] = set()
    for err in facts.errors:
        key = (err.service, err.region, err.operation)
        if key in seen:
            continue
        seen.add(key)
        yield Outcome.error(
            f"{err.service}:{err.operation} in {err.region}: {err.kind} ({err.code}): {err.message}",
            key=f"{err.service}:{err.operation}:{err.region}",
            evidence=_error_evidence(facts, err),
        )


def _error_evidence(facts: AwsFacts, err: ApiError) -> dict[str, Any]:
    return {
        "account": facts.account,
        "region": err.region,
        "call": f"{err.service}:{err.operation}",
        "code": err.code,
        "kind": err.kind,
        "blocked": err.blocks,
    }


@check(
    id="AWS-INVENTORY",
    title="What posture read in the AWS account",
    area=Area.OTHER,
    severity=Severity.INFO,
    target=TargetKind.CLOUD,
    facts="aws",
    description="The account, regions and resources the collector saw, and the read-only calls "
    "it made (by IAM action): the scope of the observed evidence, for an auditor.",
)
def inventory(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    counts = {
        "buckets": len(facts.buckets),
        "databases": len(facts.databases),
        "volumes_and_snapshots": len(facts.volumes),
        "dynamodb_tables": len(facts.tables),
        "kms_keys": len(facts.kms_keys),
        "backup_plans": len(facts.backup_plans),
        "backup_vaults": len(facts.vaults),
        "iam_users": len(facts.users or ()),
    }
    arn = f"arn:{facts.partition}:iam::{facts.account}:root"
    yield Outcome.passed(
        f"account {facts.account}, {', '.join(facts.regions)}: "
        + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items())
        + f"; {sum(facts.calls.values())} read-only calls",
        resource=arn,
        evidence={
            "account": facts.account,
            "regions": list(facts.regions),
            "resources": counts,
            "calls": dict(facts.calls),
            "failed_calls": len(facts.errors),
        },
    )


# --- Encryption at rest ----------------------------------------------------------------------


@check(
    id="AWS-S3-ENCRYPTION",
    title="S3 bucket without default encryption under a customer-managed key",
    area=Area.ENCRYPTION,
    severity=Severity.MEDIUM,
    target=TargetKind.CLOUD,
    facts="aws",
    description="Since 2023 S3 encrypts new objects with S3-managed keys (SSE-S3), which protects "
    "against stolen disks only: anyone who can read the bucket reads the data. A customer-managed "
    "KMS key adds a separate permission, key policy and audit trail.",
    remediation="Set default encryption to SSE-KMS with a customer-managed key (bucket key on).",
    references=[_AWS_DOCS + "AmazonS3/latest/userguide/default-bucket-encryption.html"],
)
def s3_encryption(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _skips(facts, "s3")
    for b in facts.buckets:
        ev = _ev(facts, b.region, b.arn, algorithm=b.encryption, key_manager=b.key_manager)
        if b.encryption is None:
            yield Outcome.fail(
                f"{b.name}: no default encryption configured",
                resource=b.arn,
                severity=Severity.HIGH,
                evidence=ev,
                key="none",
            )
        elif b.encryption == "AES256":
            yield Outcome.fail(
                f"{b.name}: S3-managed keys (SSE-S3), not a customer-managed KMS key",
                resource=b.arn,
                evidence=ev,
                key="sse-s3",
            )
        elif b.key_manager != "CUSTOMER":
            manager = (
                "the AWS-managed key aws/s3"
                if b.key_manager == "AWS"
                else "a key of unknown manager"
            )
            yield Outcome.fail(
                f"{b.name}: SSE-KMS under {manager}",
                resource=b.arn,
                severity=Severity.LOW,
                evidence=ev,
                key="aws-managed",
            )
        else:
            yield Outcome.passed(
                f"{b.name}: SSE-KMS with a customer-managed key", resource=b.arn, evidence=ev
            )


@check(
    id="AWS-RDS-ENCRYPTION",
    title="RDS or Aurora storage not encrypted",
    area=Area.ENCRYPTION,
    severity=Severity.HIGH,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="Encryption cannot be switched on in place: restore an encrypted copy of a snapshot "
    "(copy-db-snapshot --kms-key-id) and switch over.",
    references=[_AWS_DOCS + "AmazonRDS/latest/UserGuide/Overview.Encryption.html"],
)
def rds_encryption(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _skips(facts, "rds")
    for db in facts.databases:
        if db.cluster:
            continue  # judged through its cluster
        ev = _ev(facts, db.region, db.arn, engine=db.engine, kind=db.kind, kms_key=db.kms_key)
        yield Outcome.judged(
            db.encrypted,
            f"{db.identifier}: storage encrypted",
            f"{db.identifier} ({db.engine}): storage not encrypted",
            resource=db.arn,
            evidence=ev,
        )


@check(
    id="AWS-EBS-DEFAULT-ENCRYPTION",
    title="EBS encryption by default is off in a region",
    area=Area.ENCRYPTION,
    severity=Severity.MEDIUM,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="aws ec2 enable-ebs-encryption-by-default --region REGION",
    references=[_AWS_DOCS + "ebs/latest/userguide/encryption-by-default.html"],
)
def ebs_default(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    for region in facts.regions:
        state = facts.ebs_default_encryption.get(region)
        arn = f"arn:{facts.partition}:ec2:{region}:{facts.account}:ebs-default-encryption"
        if state is None:
            skipped = _not_evaluated(facts, "ebs", region)
            if skipped is not None:
                yield skipped
        elif state:
            yield Outcome.passed(
                f"{region}: on", resource=arn, key=region, evidence=_ev(facts, region, arn)
            )
        else:
            yield Outcome.fail(
                f"{region}: new volumes are not encrypted unless asked",
                resource=arn,
                key=region,
                evidence=_ev(facts, region, arn),
            )


@check(
    id="AWS-EBS-UNENCRYPTED",
    title="Unencrypted EBS volume or snapshot",
    area=Area.ENCRYPTION,
    severity=Severity.HIGH,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="Copy the snapshot with encryption (copy-snapshot --encrypted), create an encrypted "
    "volume from it and replace the unencrypted one; delete unencrypted snapshots.",
    references=[_AWS_DOCS + "ebs/latest/userguide/ebs-encryption.html"],
)
def ebs_unencrypted(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _skips(facts, "ebs")
    for v in facts.volumes:
        ev = _ev(facts, v.region, v.arn, kind=v.kind)
        yield Outcome.judged(
            v.encrypted,
            f"{v.kind} {v.id}: encrypted",
            f"{v.kind} {v.id} in {v.region}: not encrypted",
            resource=v.arn,
            evidence=ev,
        )


@check(
    id="AWS-DYNAMODB-CMK",
    title="DynamoDB table not encrypted under a customer-managed key",
    area=Area.ENCRYPTION,
    severity=Severity.LOW,
    target=TargetKind.CLOUD,
    facts="aws",
    description="DynamoDB always encrypts at rest; with an AWS-owned or AWS-managed key, access to "
    "the table is access to the data, with no key policy of your own and no key-use audit trail.",
    remediation="Update the table's SSE specification to a customer-managed KMS key.",
    references=[_AWS_DOCS + "amazondynamodb/latest/developerguide/EncryptionAtRest.html"],
)
def dynamodb_cmk(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _skips(facts, "dynamodb")
    for t in facts.tables:
        ev = _ev(facts, t.region, t.arn, sse=t.sse, key_manager=t.key_manager)
        if t.sse == "KMS" and t.key_manager == "CUSTOMER":
            yield Outcome.passed(f"{t.name}: customer-managed key", resource=t.arn, evidence=ev)
        else:
            what = "an AWS-owned key" if t.sse != "KMS" else "the AWS-managed key aws/dynamodb"
            yield Outcome.fail(f"{t.name}: encrypted with {what}", resource=t.arn, evidence=ev)


@check(
    id="AWS-KMS-ROTATION",
    title="Customer-managed KMS key without automatic rotation",
    area=Area.ENCRYPTION,
    severity=Severity.MEDIUM,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="aws kms enable-key-rotation --key-id KEY",
    references=[_AWS_DOCS + "kms/latest/developerguide/rotate-keys.html"],
)
def kms_rotation(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _skips(facts, "kms")
    for k in facts.kms_keys:
        if k.rotation is None:
            continue  # AWS-managed, asymmetric, imported or disabled keys: rotation does not apply
        ev = _ev(facts, k.region, k.arn)
        yield Outcome.judged(
            k.rotation, "rotation on", "automatic rotation off", resource=k.arn, evidence=ev
        )


# --- Backups and their separation ------------------------------------------------------------


def _vault_place(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return (parts[3], parts[4]) if len(parts) > 4 else ("", "")


@check(
    id="AWS-BACKUP-COPY-REGION",
    title="AWS Backup plan keeps no copy in another region",
    area=Area.BACKUP,
    severity=Severity.HIGH,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="Add a copy action to each backup rule, to a vault in another region.",
    references=[_BACKUP_DOCS],
)
def backup_copy_region(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _copies_elsewhere(facts, part=0)


@check(
    id="AWS-BACKUP-COPY-ACCOUNT",
    title="AWS Backup plan keeps no copy in another account",
    area=Area.BACKUP,
    severity=Severity.MEDIUM,
    target=TargetKind.CLOUD,
    facts="aws",
    description="A stolen administrator key or ransomware in one account can delete its backups; "
    "a copy in a separate account (an AWS Organizations backup account) survives it.",
    remediation="Add a copy action to a vault in a dedicated backup account.",
    references=[_AWS_DOCS + "aws-backup/latest/devguide/create-cross-account-backup.html"],
)
def backup_copy_account(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _copies_elsewhere(facts, part=1)


def _copies_elsewhere(facts: AwsFacts, part: int) -> Iterator[Outcome]:
    """Each backup rule: does a copy action leave the plan's region (part 0) or account (1)?"""
    yield from _skips(facts, "backup")
    for plan in facts.backup_plans:
        home = plan.region if part == 0 else facts.account
        where = "" if part == 0 else "account "
        for rule in plan.rules:
            elsewhere = sorted({_vault_place(c)[part] for c in rule.copy_to} - {home, ""})
            ev = _ev(facts, plan.region, plan.arn, rule=rule.name, copies_to=list(rule.copy_to))
            kw = {"resource": plan.arn, "key": rule.name, "evidence": ev}
            yield Outcome.judged(
                bool(elsewhere),
                f"{plan.name}/{rule.name}: copies to {where}{', '.join(elsewhere)}",
                f"{plan.name}/{rule.name}: every copy stays in {where}{home}",
                **kw,
            )


@check(
    id="AWS-BACKUP-VAULT-LOCK",
    title="Backup vault without vault lock",
    area=Area.BACKUP,
    severity=Severity.MEDIUM,
    target=TargetKind.CLOUD,
    facts="aws",
    description="Without a vault lock, anyone with backup:DeleteRecoveryPoint (an attacker with a "
    "stolen administrator key included) can delete every backup before encrypting the data.",
    remediation="aws backup put-backup-vault-lock-configuration --backup-vault-name VAULT "
    "--min-retention-days N (compliance mode once tested).",
    references=[_AWS_DOCS + "aws-backup/latest/devguide/vault-lock.html"],
)
def backup_vault_lock(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _skips(facts, "backup")
    used = {(p.region, r.vault) for p in facts.backup_plans for r in p.rules}
    for v in facts.vaults:
        if (
            v.name in ("Default", "default")
            and (v.region, v.name) not in used
            and not v.recovery_points
        ):
            continue  # the empty default vault AWS creates
        ev = _ev(facts, v.region, v.arn)
        yield Outcome.judged(
            v.locked,
            f"{v.name}: locked",
            f"{v.name} in {v.region}: not locked",
            resource=v.arn,
            evidence=ev,
        )


@check(
    id="AWS-BACKUP-RECOVERY-AGE",
    title="No recent recovery point in a vault a backup plan writes to",
    area=Area.BACKUP,
    severity=Severity.HIGH,
    target=TargetKind.CLOUD,
    facts="aws",
    description="A plan that never produced a recovery point, or stopped producing them, protects "
    "nothing: the age of the newest recovery point is what a restore would start from.",
    remediation="Check the plan's backup jobs (aws backup list-backup-jobs --by-state FAILED) and "
    "its resource selection.",
    references=[_AWS_DOCS + "aws-backup/latest/devguide/monitoring.html"],
)
def backup_recovery_age(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _skips(facts, "backup")
    limit = dt.timedelta(hours=float(_policy(ctx, "max_recovery_point_age_hours", 48)))
    vaults = {(v.region, v.name): v for v in facts.vaults}
    for region, name in sorted({(p.region, r.vault) for p in facts.backup_plans for r in p.rules}):
        vault = vaults.get((region, name))
        if vault is None:
            continue
        ev = _ev(facts, region, vault.arn, recovery_points=vault.recovery_points)
        newest = vault.newest_recovery_point
        if not vault.recovery_points or newest is None:
            yield Outcome.fail(
                f"{name} in {region}: no recovery point at all", resource=vault.arn, evidence=ev
            )
            continue
        age = ctx.now - (newest if newest.tzinfo else newest.replace(tzinfo=dt.UTC))
        ev["newest_recovery_point"] = newest.isoformat()
        hours = round(age.total_seconds() / 3600, 1)
        yield Outcome.judged(
            age <= limit,
            f"{name}: newest recovery point {hours} h old",
            f"{name} in {region}: newest recovery point {hours} h old (limit {limit.total_seconds() / 3600:g} h)",
            resource=vault.arn,
            evidence=ev,
        )


@check(
    id="AWS-RDS-BACKUP-RETENTION",
    title="RDS or Aurora automated backups kept too briefly",
    area=Area.BACKUP,
    severity=Severity.MEDIUM,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="Raise BackupRetentionPeriod to the policy's minimum (cloud.aws.min_backup_retention_days).",
    references=[_AWS_DOCS + "AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html"],
)
def rds_backup_retention(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _skips(facts, "rds")
    minimum = int(_policy(ctx, "min_backup_retention_days", 7))
    for db in facts.databases:
        if db.cluster:
            continue
        ev = _ev(facts, db.region, db.arn, retention_days=db.backup_retention, minimum=minimum)
        if db.backup_retention >= minimum:
            yield Outcome.passed(
                f"{db.identifier}: {db.backup_retention} days", resource=db.arn, evidence=ev
            )
        else:
            state = "off" if db.backup_retention == 0 else f"{db.backup_retention} days"
            yield Outcome.fail(
                f"{db.identifier}: automated backups {state} (policy {minimum} days)",
                resource=db.arn,
                severity=Severity.HIGH if db.backup_retention == 0 else None,
                evidence=ev,
            )


def _copied_by_plan(facts: AwsFacts, region: str) -> bool:
    """A plan in ``region`` that copies to another region (the selection is not read: see docs)."""
    return any(
        {_vault_place(c)[0] for c in r.copy_to} - {region, ""}
        for p in facts.backup_plans
        if p.region == region
        for r in p.rules
    )


@check(
    id="AWS-RDS-CROSS-REGION-BACKUP",
    title="RDS or Aurora database with no backup or replica in another region",
    area=Area.BACKUP,
    severity=Severity.MEDIUM,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="Turn on cross-Region automated backup replication "
    "(start-db-instance-automated-backups-replication), or keep a cross-Region replica.",
    references=[_AWS_DOCS + "AmazonRDS/latest/UserGuide/USER_ReplicateBackups.html"],
)
def rds_cross_region(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _skips(facts, "rds")
    for db in facts.databases:
        if db.cluster or db.replica_of:
            continue  # judged through its cluster; a replica is itself the other copy
        elsewhere = sorted(set(db.backup_replication_regions) | set(db.replica_regions))
        ev = _ev(
            facts,
            db.region,
            db.arn,
            backup_replication_regions=list(db.backup_replication_regions),
            replica_regions=list(db.replica_regions),
            backup_plan_copies_cross_region=_copied_by_plan(facts, db.region),
        )
        yield Outcome.judged(
            bool(elsewhere),
            f"{db.identifier}: copy in {', '.join(elsewhere)}",
            f"{db.identifier}: no automated-backup replication or replica outside {db.region}",
            resource=db.arn,
            evidence=ev,
        )


@check(
    id="AWS-S3-REPLICATION",
    title="Bucket holding backups or customer data is not replicated to another region or account",
    area=Area.BACKUP,
    severity=Severity.MEDIUM,
    target=TargetKind.CLOUD,
    facts="aws",
    description="Judged for buckets whose names suggest backups or customer data "
    "(iac.backup.data_bucket_keywords, as for IaC) and for buckets named in a declared data store.",
    remediation="Add a replication rule to a bucket in another region or a backup account.",
    references=[_AWS_DOCS + "AmazonS3/latest/userguide/replication.html"],
)
def s3_replication(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _skips(facts, "s3")
    words = [str(w).lower() for w in ctx.policy.get("iac.backup.data_bucket_keywords", [])]
    declared = _declared_resources(ctx)
    targets = {d.rsplit(":", 1)[-1] for b in facts.buckets for d, _, _ in b.replication}
    for b in facts.buckets:
        if b.name in targets:
            continue  # a replication destination is itself the copy
        named = b.arn in declared or b.name in declared
        if not named and not any(w in b.name.lower() for w in words):
            continue
        separate = [
            d
            for d, acct, region in b.replication
            if (acct and acct != facts.account) or (region and region != b.region) or region is None
        ]
        ev = _ev(facts, b.region, b.arn, replication=[list(r) for r in b.replication])
        yield Outcome.judged(
            bool(separate),
            f"{b.name}: replicated to {', '.join(separate)}",
            f"{b.name}: no replica outside {b.region}",
            resource=b.arn,
            evidence=ev,
        )


def _declared_resources(ctx: CheckContext) -> set[str]:
    if ctx.config is None:
        return set()
    return {r for s in ctx.config.controls.data_stores for r in s.cloud_resources}


@check(
    id="AWS-DYNAMODB-PITR",
    title="DynamoDB table without point-in-time recovery",
    area=Area.BACKUP,
    severity=Severity.MEDIUM,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="aws dynamodb update-continuous-backups --point-in-time-recovery-specification "
    "PointInTimeRecoveryEnabled=true",
    references=[_AWS_DOCS + "amazondynamodb/latest/developerguide/PointInTimeRecovery.html"],
)
def dynamodb_pitr(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _skips(facts, "dynamodb")
    for t in facts.tables:
        ev = _ev(facts, t.region, t.arn)
        if t.pitr:
            yield Outcome.passed(
                f"{t.name}: point-in-time recovery on", resource=t.arn, evidence=ev
            )
        elif t.pitr is False:
            yield Outcome.fail(f"{t.name}: point-in-time recovery off", resource=t.arn, evidence=ev)


# --- Access -----------------------------------------------------------------------------------


def _root_arn(facts: AwsFacts) -> str:
    return f"arn:{facts.partition}:iam::{facts.account}:root"


@check(
    id="AWS-ROOT-MFA",
    title="Root user without MFA",
    area=Area.ACCESS,
    severity=Severity.CRITICAL,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="Enable a hardware or virtual MFA device for the root user (or centralise root "
    "access with AWS Organizations).",
    references=[_AWS_DOCS + "IAM/latest/UserGuide/enable-mfa-for-root.html"],
)
def root_mfa(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    arn = _root_arn(facts)
    if facts.root_mfa is None:
        yield from _skips(facts, "iam")
    elif facts.root_mfa:
        yield Outcome.passed("root user has MFA", resource=arn, evidence=_ev(facts, None, arn))
    else:
        yield Outcome.fail("root user has no MFA", resource=arn, evidence=_ev(facts, None, arn))


@check(
    id="AWS-ROOT-ACCESS-KEYS",
    title="Root user has access keys",
    area=Area.ACCESS,
    severity=Severity.CRITICAL,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="Delete the root user's access keys; use roles for automation.",
    references=[_AWS_DOCS + "IAM/latest/UserGuide/id_root-user_manage_add-key.html"],
)
def root_keys(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    arn = _root_arn(facts)
    if facts.root_access_keys is None:
        yield from _skips(facts, "iam")
    elif facts.root_access_keys:
        yield Outcome.fail(
            "root user has access keys", resource=arn, evidence=_ev(facts, None, arn)
        )
    else:
        yield Outcome.passed(
            "root user has no access keys", resource=arn, evidence=_ev(facts, None, arn)
        )


@check(
    id="AWS-IAM-USER-MFA",
    title="IAM user with console access and no MFA",
    area=Area.ACCESS,
    severity=Severity.HIGH,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="Require MFA for every console user (or move people to IAM Identity Center).",
    references=[_AWS_DOCS + "IAM/latest/UserGuide/id_credentials_mfa.html"],
)
def user_mfa(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    if facts.users is None:
        yield from _skips(facts, "iam")
        return
    for u in facts.users:
        if not u.console:
            continue
        ev = _ev(facts, None, u.arn)
        yield Outcome.judged(
            u.mfa,
            f"{u.name}: MFA on",
            f"{u.name}: console password without MFA",
            resource=u.arn,
            evidence=ev,
        )


@check(
    id="AWS-ACCESS-KEY-AGE",
    title="Active IAM access key older than policy",
    area=Area.ACCESS,
    severity=Severity.MEDIUM,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="Rotate the key (create a new one, switch, deactivate and delete the old), or "
    "replace long-lived keys with roles.",
    references=[
        _AWS_DOCS + "IAM/latest/UserGuide/id_credentials_access-keys.html#rotating_access_keys"
    ],
)
def key_age(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    if facts.users is None:
        yield from _skips(facts, "iam")
        return
    limit = int(_policy(ctx, "max_access_key_age_days", 90))
    for u in facts.users:
        for slot, rotated in u.keys:
            ev = _ev(facts, None, u.arn, key=slot, limit_days=limit)
            if rotated is None:
                continue
            days = (ctx.now - rotated).days
            ev["age_days"] = days
            yield Outcome.judged(
                days <= limit,
                f"{u.name}: {slot} is {days} days old",
                f"{u.name}: {slot} is {days} days old (limit {limit})",
                resource=u.arn,
                key=slot,
                evidence=ev,
            )


@check(
    id="AWS-SG-OPEN-ADMIN-PORTS",
    title="Security group opens an administrative or database port to the internet",
    area=Area.ACCESS,
    severity=Severity.HIGH,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="Allow these ports only from the VPN or a bastion's security group; use SSM "
    "Session Manager instead of open SSH/RDP.",
    references=[_AWS_DOCS + "vpc/latest/userguide/vpc-security-group-rules.html"],
)
def open_admin_ports(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _skips(facts, "ec2")
    ports = [int(p) for p in _policy(ctx, "admin_ports", [22, 3389])]
    databases = {int(p) for p in _policy(ctx, "database_ports", [])}
    for rule in facts.open_ingress:
        hit = [p for p in ports if rule.port_from <= p <= rule.port_to]
        for port in hit:
            yield Outcome.fail(
                f"{rule.group_id} ({rule.group_name}) in {rule.region}: port {port} open to {rule.cidr}",
                resource=rule.arn,
                key=f"{port}:{rule.cidr}",
                severity=Severity.CRITICAL if port in databases else None,
                evidence=_ev(
                    facts, rule.region, rule.arn, port=port, cidr=rule.cidr, protocol=rule.protocol
                ),
            )
    if not facts.blocked("ec2") and not any(
        rule.port_from <= p <= rule.port_to for rule in facts.open_ingress for p in ports
    ):
        arn = f"arn:{facts.partition}:ec2::{facts.account}:security-groups"
        yield Outcome.passed(
            "no security group opens an administrative or database port to the internet",
            resource=arn,
            evidence={"account": facts.account, "regions": list(facts.regions), "ports": ports},
        )


@check(
    id="AWS-RDS-PUBLIC",
    title="Database reachable from the internet (publicly accessible)",
    area=Area.ACCESS,
    severity=Severity.HIGH,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="modify-db-instance --no-publicly-accessible; reach the database through the VPC.",
    references=[
        _AWS_DOCS + "AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html"
    ],
)
def rds_public(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _skips(facts, "rds")
    for db in facts.databases:
        if db.kind == "cluster":
            continue  # public access is a setting of each instance
        ev = _ev(facts, db.region, db.arn)
        yield Outcome.judged(
            not db.publicly_accessible,
            f"{db.identifier}: private",
            f"{db.identifier}: publicly accessible",
            resource=db.arn,
            evidence=ev,
        )


@check(
    id="AWS-S3-PUBLIC",
    title="S3 bucket public, or public access not blocked",
    area=Area.ACCESS,
    severity=Severity.HIGH,
    target=TargetKind.CLOUD,
    facts="aws",
    remediation="Turn on S3 Block Public Access for the account (all four settings); serve public "
    "files through CloudFront with origin access control.",
    references=[_AWS_DOCS + "AmazonS3/latest/userguide/access-control-block-public-access.html"],
)
def s3_public(facts: AwsFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _skips(facts, "s3")
    account_block = facts.account_public_access_block or {}
    account_blocked = bool(account_block) and all(account_block.values())
    for b in facts.buckets:
        bucket_blocked = bool(b.public_access_block) and all((b.public_access_block or {}).values())
        ev = _ev(
            facts,
            b.region,
            b.arn,
            account_public_access_block=account_block or None,
            bucket_public_access_block=b.public_access_block,
        )
        if account_blocked or bucket_blocked:
            where = "account" if account_blocked else "bucket"
            yield Outcome.passed(
                f"{b.name}: public access blocked ({where})", resource=b.arn, evidence=ev
            )
        elif b.is_public:
            yield Outcome.fail(
                f"{b.name}: public (policy or ACL)", resource=b.arn, key="public", evidence=ev
            )
        else:
            yield Outcome.fail(
                f"{b.name}: not public today, but public access is not blocked",
                resource=b.arn,
                severity=Severity.MEDIUM,
                key="unblocked",
                evidence=ev,
            )
