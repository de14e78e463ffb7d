"""Backup separation in Terraform, which checkov does not check: backups copied to another region
or account, locked vaults, replicated buckets, cross-region database backups, point-in-time
recovery and key rotation. Pure checks over the resources checkov already parsed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from posture.checks.collectors.checkov_scan import IacFacts, TfResource, collect_iac
from posture.model import Area, Location, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check

__all__ = ["collect_iac"]

AWS_BACKUP = "https://docs.aws.amazon.com/aws-backup/latest/devguide/cross-region-backup.html"
_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:(?P<region>[a-z0-9-]*):(?P<account>\d{12})?:")
_REF = re.compile(r"^(?:module\.[\w-]+\.)*(?P<type>[a-z0-9_]+)\.(?P<name>[\w-]+)(?:\.[\w]+)*$")


def _one(value: Any) -> Any:
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def _blocks(attrs: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = attrs.get(name) or []
    return [b for b in (value if isinstance(value, list) else [value]) if isinstance(b, dict)]


def _loc(resource: TfResource) -> Location:
    return Location(resource.path, resource.lines[0] or None, resource.lines[1] or None)


def _by_address(facts: IacFacts) -> dict[str, TfResource]:
    return {r.address: r for r in facts.resources}


def _referenced(value: Any, facts: IacFacts) -> TfResource | None:
    """The resource an attribute refers to ("aws_backup_vault.dr.arn"), if it is in the tree."""
    text = str(_one(value) or "")
    match = _REF.match(text.strip("${}"))
    if not match:
        return None
    return _by_address(facts).get(f"{match['type']}.{match['name']}")


def _account(provider: dict[str, Any] | None) -> str | None:
    if not provider:
        return None
    role = _one(provider.get("assume_role"))
    if isinstance(role, dict):
        arn = _ARN.match(str(_one(role.get("role_arn")) or ""))
        if arn and arn["account"]:
            return arn["account"]
    allowed = provider.get("allowed_account_ids")
    if isinstance(allowed, list) and len(allowed) == 1:
        return str(allowed[0])
    return None


def _place(resource: TfResource, facts: IacFacts) -> tuple[str | None, str | None]:
    provider = facts.providers.get(resource.provider)
    region = _one(provider.get("region")) if provider else None
    return (str(region) if region else None), _account(provider)


def _destination(value: Any, facts: IacFacts) -> tuple[str | None, str | None, str]:
    """(region, account, description) of a copy destination: an ARN or a reference."""
    text = str(_one(value) or "")
    arn = _ARN.match(text)
    if arn:
        return arn["region"] or None, arn["account"], text
    target = _referenced(value, facts)
    if target is not None:
        region, account = _place(target, facts)
        return region, account, target.address
    return None, None, text


def _resources(facts: IacFacts, *types: str) -> list[TfResource]:
    return [r for r in facts.resources if r.type in types]


@check(
    id="IAC-BACKUP-COPY",
    title="Backup plan keeps no copy in another region or account",
    area=Area.BACKUP,
    severity=Severity.HIGH,
    target=TargetKind.IAC,
    facts="checkov",
    description="An AWS Backup plan whose rules have no copy_action, or copy only into the region "
    "of the data, leaves one regional outage or one compromised account between the shop and the "
    "loss of its data. When accounts can be told apart (allowed_account_ids, assume_role ARNs, "
    "ARNs), a copy into the same account is reported too.",
    remediation="Add a copy_action to a vault in another region, ideally in a separate backup account.",
    references=[AWS_BACKUP],
)
def backup_copy(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    for plan in _resources(facts, "aws_backup_plan"):
        src_region, src_account = _place(plan, facts)
        copies = [c for rule in _blocks(plan.attrs, "rule") for c in _blocks(rule, "copy_action")]
        evidence: dict[str, Any] = {
            "plan": plan.address,
            "source_region": src_region,
            "source_account": src_account,
        }
        if not copies:
            yield Outcome.fail(
                "no copy_action: every backup stays beside the data",
                resource=plan.address,
                location=_loc(plan),
                evidence=evidence,
                key="no-copy",
            )
            continue
        destinations = [_destination(c.get("destination_vault_arn"), facts) for c in copies]
        evidence["destinations"] = [
            {"region": r, "account": a, "vault": d} for r, a, d in destinations
        ]
        other_region = [d for d in destinations if d[0] and src_region and d[0] != src_region]
        if not other_region:
            unknown = all(d[0] is None for d in destinations)
            yield Outcome.fail(
                "copies go to a vault whose region cannot be determined"
                if unknown
                else f"copies stay in {src_region}",
                resource=plan.address,
                location=_loc(plan),
                evidence=evidence,
                severity=Severity.MEDIUM if unknown else None,
                key="same-region",
            )
        same_account = [d for d in destinations if d[1] and src_account and d[1] == src_account]
        if same_account and len(same_account) == len(destinations):
            yield Outcome.fail(
                f"copies stay in account {src_account}: one compromised account loses data and backups",
                resource=plan.address,
                location=_loc(plan),
                evidence=evidence,
                key="same-account",
            )


@check(
    id="IAC-BACKUP-VAULT-LOCK",
    title="Backup vault without vault lock",
    area=Area.BACKUP,
    severity=Severity.MEDIUM,
    target=TargetKind.IAC,
    facts="checkov",
    description="Without AWS Backup Vault Lock an attacker (or a mistake) with backup permissions "
    "can delete recovery points: the backups are not immutable.",
    remediation="Add aws_backup_vault_lock_configuration (compliance mode for immutability).",
    references=["https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html"],
)
def vault_lock(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    locks = _resources(facts, "aws_backup_vault_lock_configuration")
    locked_names = {str(_one(lock.attrs.get("backup_vault_name"))) for lock in locks}
    locked_refs = {
        r.address
        for lock in locks
        if (r := _referenced(lock.attrs.get("backup_vault_name"), facts))
    }
    for vault in _resources(facts, "aws_backup_vault"):
        name = str(_one(vault.attrs.get("name")))
        if name not in locked_names and vault.address not in locked_refs:
            yield Outcome.fail(
                f"vault {name} has no lock configuration",
                resource=vault.address,
                location=_loc(vault),
                evidence={"vault": name},
            )


def _is_sensitive(bucket: TfResource, markers: list[str]) -> bool:
    text = " ".join(
        [
            bucket.name,
            str(_one(bucket.attrs.get("bucket")) or ""),
            str(bucket.attrs.get("tags") or ""),
        ]
    )
    return any(m.lower() in text.lower() for m in markers)


@check(
    id="IAC-S3-REPLICATION",
    title="Bucket with backups or customer data not replicated to another region",
    area=Area.BACKUP,
    severity=Severity.MEDIUM,
    target=TargetKind.IAC,
    facts="checkov",
    description="Buckets whose name or tags say they hold backups or customer data (policy "
    "iac.sensitive_bucket_markers) need a replica in another region.",
    remediation="Add aws_s3_bucket_replication_configuration to a bucket in another region (and account).",
    references=["https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication.html"],
)
def s3_replication(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    markers = [str(m) for m in ctx.policy.get("iac.sensitive_bucket_markers", [])]
    replications = _resources(facts, "aws_s3_bucket_replication_configuration")
    replicated: dict[str, list[tuple[str | None, str | None, str]]] = {}
    replicas: set[str] = set()  # destinations are the copies themselves
    for rep in replications:
        source = _referenced(rep.attrs.get("bucket"), facts)
        key = source.address if source else str(_one(rep.attrs.get("bucket")))
        for rule in _blocks(rep.attrs, "rule"):
            for dest in _blocks(rule, "destination"):
                replicated.setdefault(key, []).append(_destination(dest.get("bucket"), facts))
                target = _referenced(dest.get("bucket"), facts)
                if target is not None:
                    replicas.add(target.address)
    for bucket in _resources(facts, "aws_s3_bucket"):
        if not _is_sensitive(bucket, markers) or bucket.address in replicas:
            continue
        name = str(_one(bucket.attrs.get("bucket")) or bucket.name)
        inline = _blocks(bucket.attrs, "replication_configuration")
        destinations = replicated.get(bucket.address) or replicated.get(name) or []
        if not destinations and not inline:
            yield Outcome.fail(
                f"bucket {name} is not replicated",
                resource=bucket.address,
                location=_loc(bucket),
                evidence={"bucket": name},
                key="none",
            )
            continue
        region, _ = _place(bucket, facts)
        if (
            destinations
            and all(d[0] == region for d in destinations if d[0])
            and any(d[0] for d in destinations)
        ):
            yield Outcome.fail(
                f"bucket {name} replicates only within {region}",
                resource=bucket.address,
                location=_loc(bucket),
                key="same-region",
                evidence={"bucket": name, "destinations": [d[2] for d in destinations]},
            )


@check(
    id="IAC-DB-BACKUP",
    title="Database backups too short or not copied to another region",
    area=Area.BACKUP,
    severity=Severity.MEDIUM,
    target=TargetKind.IAC,
    facts="checkov",
    description="RDS instances and Aurora clusters need automated backups kept for at least "
    "iac.min_backup_retention_days (7) days and a copy outside their region (automated backups "
    "replication, a global cluster, or an AWS Backup plan with a cross-region copy).",
    remediation="Set backup_retention_period >= 7 and add aws_db_instance_automated_backups_replication "
    "(or a global cluster / cross-region backup copy).",
    references=[
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReplicateBackups.html"
    ],
)
def database_backups(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    minimum = int(ctx.policy.get("iac.min_backup_retention_days", 7))
    replicated = {
        r.address
        for rep in _resources(facts, "aws_db_instance_automated_backups_replication")
        if (r := _referenced(rep.attrs.get("source_db_instance_arn"), facts))
    }
    has_backup_copy = any(
        _blocks(rule, "copy_action")
        for plan in _resources(facts, "aws_backup_plan")
        for rule in _blocks(plan.attrs, "rule")
    )
    for db in _resources(facts, "aws_db_instance", "aws_rds_cluster"):
        if db.type == "aws_db_instance" and _one(db.attrs.get("replicate_source_db")):
            continue  # a read replica has no backups of its own
        raw = _one(db.attrs.get("backup_retention_period"))
        try:
            days = int(raw) if raw is not None else None
        except (TypeError, ValueError):
            days = None
        evidence = {"backup_retention_period": days}
        if days is None or days < minimum:
            shown = "not set (AWS default: 1 day)" if days is None else f"{days} days"
            yield Outcome.fail(
                f"backup retention {shown}, under {minimum} days",
                resource=db.address,
                location=_loc(db),
                evidence=evidence,
                key="retention",
            )
        global_cluster = db.type == "aws_rds_cluster" and _one(
            db.attrs.get("global_cluster_identifier")
        )
        if db.address not in replicated and not global_cluster and not has_backup_copy:
            yield Outcome.fail(
                "no copy of its backups outside its region",
                resource=db.address,
                location=_loc(db),
                evidence=evidence,
                key="cross-region",
            )


@check(
    id="IAC-DYNAMODB-PITR",
    title="DynamoDB table without point-in-time recovery",
    area=Area.BACKUP,
    severity=Severity.MEDIUM,
    target=TargetKind.IAC,
    facts="checkov",
    remediation="Add point_in_time_recovery { enabled = true }.",
    references=[
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/PointInTimeRecovery.html"
    ],
)
def dynamodb_pitr(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    for table in _resources(facts, "aws_dynamodb_table"):
        enabled = any(
            _one(b.get("enabled")) is True for b in _blocks(table.attrs, "point_in_time_recovery")
        )
        if not enabled:
            yield Outcome.fail(
                "point-in-time recovery is off", resource=table.address, location=_loc(table)
            )


@check(
    id="IAC-KMS-ROTATION",
    title="KMS key without automatic rotation",
    area=Area.ENCRYPTION,
    severity=Severity.MEDIUM,
    target=TargetKind.IAC,
    facts="checkov",
    description="Covers aws_kms_key (symmetric keys only: AWS cannot rotate "
    "asymmetric or HMAC keys).",
    remediation="Set enable_key_rotation = true on symmetric keys.",
    references=["https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html"],
)
def kms_rotation(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    for key in _resources(facts, "aws_kms_key"):
        spec = str(
            _one(key.attrs.get("customer_master_key_spec") or key.attrs.get("key_spec"))
            or "SYMMETRIC_DEFAULT"
        )
        if spec != "SYMMETRIC_DEFAULT":
            continue
        if _one(key.attrs.get("enable_key_rotation")) is not True:
            yield Outcome.fail(
                "automatic key rotation is off", resource=key.address, location=_loc(key)
            )
