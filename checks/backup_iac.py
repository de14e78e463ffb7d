"""Backup separation and the rules checkov lacks, over the resources checkov already parsed.

"Back up all your data at a secure and separate site": a backup in the same region and account
as the data it protects shares its fate (a regional outage, a stolen admin key, ransomware that
deletes both). checkov checks that backups exist; these rules check where they go. Regions come
from the Terraform provider a resource uses (``provider = aws.dr``), accounts from providers'
``assume_role`` ARNs and ``allowed_account_ids`` or from literal ARNs. When the tree does not
say, the result is ``skipped`` with the reason, never a pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from posture.model import Area, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check

from ._iac_place import place as iac_place
from .collectors.checkov_scan import collect_iac
from .collectors.iac_facts import (
    IacFacts,
    IacResource,
    arn_region_account,
    blocks,
    value,
)

__all__ = [
    "backup_copy_other_account",
    "backup_plan_copies_elsewhere",
    "backup_vault_locked",
    "collect_iac",
    "dynamodb_replica_pitr",
    "kms_rotation_gaps",
    "rds_backup_retention",
    "rds_cross_region_backup",
    "s3_data_replicated",
]

_REF = re.compile(r"((?:module\.[\w-]+\.)*[a-z][a-z0-9_]*\.[\w-]+)\.[\w]+")
AWS_BACKUP = "https://docs.aws.amazon.com/aws-backup/latest/devguide/cross-region-backup.html"


def _kw(facts: IacFacts, ctx: CheckContext, res: IacResource) -> dict[str, Any]:
    """resource, location, module origin and previous path of a resource's outcome."""
    where = iac_place(facts, ctx, res.path, res.start_line, res.end_line, res.origin)
    return {"resource": res.address, **where.outcome_kw()}


@dataclass(frozen=True)
class Place:
    """Where something lives; ``None`` parts are unknown."""

    region: str | None
    account: str | None
    how: str  # how we know: provider aws.dr, literal ARN, same template ...


def _refers(text: Any, res: IacResource) -> bool:
    """Does a (rendered) Terraform value reference ``res`` (``aws_s3_bucket.x.arn``)?"""
    if isinstance(text, list):
        return any(_refers(t, res) for t in text)
    if not isinstance(text, str):
        return False
    return any(m.group(1) == res.address for m in _REF.finditer(text))


def _referenced(facts: IacFacts, text: Any) -> IacResource | None:
    if not isinstance(text, str):
        return None
    for match in _REF.finditer(text):
        for res in facts.resources:
            if res.address == match.group(1):
                return res
    return None


def _place_of(facts: IacFacts, res: IacResource) -> Place:
    if res.framework != "terraform":
        return Place(None, None, "template")
    provider = facts.provider(res.provider)
    if provider is None:
        return Place(None, None, f"provider {res.provider or 'aws.default'} (not in the tree)")
    account = provider.account_ids[0] if len(provider.account_ids) == 1 else None
    return Place(provider.region, account, f"provider {provider.address}")


def _cfn_place(ref: Any, facts: IacFacts) -> Place:
    """Where a CloudFormation value (ARN string, Fn::Sub, Fn::GetAtt, Ref) points."""
    if isinstance(ref, Mapping):
        if "Fn::GetAtt" in ref or "Ref" in ref:
            return Place("${AWS::Region}", "${AWS::AccountId}", "same template")
        sub = ref.get("Fn::Sub")
        if isinstance(sub, list) and sub:
            sub = sub[0]
        if isinstance(sub, str):
            ref = sub
    if isinstance(ref, str):
        parts = ref.split(":")
        if ref.startswith("arn:") and len(parts) > 4:
            region = parts[3] or None
            account = parts[4] or None
            return Place(region, account, "ARN in the template")
    return Place(None, None, "not identifiable")


# --- AWS Backup ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Copy:
    destination: str
    place: Place


def _copies(facts: IacFacts, plan: IacResource) -> list[tuple[str, list[Copy]]]:
    """(rule name, copy actions) for every rule of a backup plan."""
    out: list[tuple[str, list[Copy]]] = []
    if plan.framework == "terraform":
        for rule in blocks(plan.attributes, "rule"):
            copies = []
            for action in blocks(rule, "copy_action"):
                dest = value(action, "destination_vault_arn")
                vault = _referenced(facts, dest)
                if vault is not None:
                    place = _place_of(facts, vault)
                else:
                    region, account = arn_region_account(str(dest or ""))
                    place = Place(region, account, "literal ARN" if region else "not identifiable")
                copies.append(Copy(str(dest), place))
            out.append((str(value(rule, "rule_name") or "?"), copies))
    else:
        body = plan.attributes.get("BackupPlan") or {}
        for rule in blocks(body, "BackupPlanRule"):
            copies = [
                Copy(
                    str(a.get("DestinationBackupVaultArn")),
                    _cfn_place(a.get("DestinationBackupVaultArn"), facts),
                )
                for a in blocks(rule, "CopyActions")
            ]
            out.append((str(rule.get("RuleName") or "?"), copies))
    return out


def _source_place(facts: IacFacts, res: IacResource) -> Place:
    if res.framework == "terraform":
        return _place_of(facts, res)
    return Place("${AWS::Region}", "${AWS::AccountId}", "stack")


def _plans(facts: IacFacts) -> Iterator[IacResource]:
    return facts.of_type("aws_backup_plan", "AWS::Backup::BackupPlan")


def _plan_is_cross_region(facts: IacFacts, plan: IacResource) -> bool:
    source = _source_place(facts, plan)
    for _, copies in _copies(facts, plan):
        for c in copies:
            if c.place.region and source.region and c.place.region != source.region:
                return True
            if c.place.account and source.account and c.place.account != source.account:
                return True
    return False


@check(
    id="IAC-BACKUP-PLAN-NO-COPY",
    title="Backup plan keeps no copy in another region or account",
    area=Area.BACKUP,
    severity=Severity.HIGH,
    target=TargetKind.IAC,
    facts="checkov",
    remediation=(
        "Add a copy_action (CopyActions in CloudFormation) to every backup rule, sending copies "
        "to a vault in another region, ideally in a separate backup account."
    ),
    references=[AWS_BACKUP],
)
def backup_plan_copies_elsewhere(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    """A backup rule whose copies stay beside the data shares the data's fate."""
    for plan in _plans(facts):
        source = _source_place(facts, plan)
        for rule_name, copies in _copies(facts, plan):
            kw = {**_kw(facts, ctx, plan), "key": rule_name}
            evidence: dict[str, Any] = {
                "rule": rule_name,
                "source_region": source.region,
                "copies": [
                    {
                        "destination": c.destination,
                        "region": c.place.region,
                        "account": c.place.account,
                        "known_from": c.place.how,
                    }
                    for c in copies
                ],
            }
            if not copies:
                yield Outcome.fail(
                    f"backup rule {rule_name!r} has no copy action: backups stay in the "
                    "plan's own region and account",
                    evidence=evidence,
                    **kw,
                )
                continue
            separate = [
                c
                for c in copies
                if (c.place.region and source.region and c.place.region != source.region)
                or (c.place.account and source.account and c.place.account != source.account)
            ]
            if separate:
                yield Outcome.passed(evidence=evidence, **kw)
            elif all(c.place.region and c.place.region == source.region for c in copies):
                yield Outcome.fail(
                    f"backup rule {rule_name!r} copies only within region {source.region}",
                    evidence=evidence,
                    **kw,
                )
            else:
                yield Outcome.skip(
                    f"backup rule {rule_name!r} copies to a vault whose region the tree does not "
                    "show (a literal ARN or a provider without a region)",
                    evidence=evidence,
                    **kw,
                )


@check(
    id="IAC-BACKUP-COPY-SAME-ACCOUNT",
    title="Backup copies stay in the primary's AWS account",
    area=Area.BACKUP,
    severity=Severity.MEDIUM,
    target=TargetKind.IAC,
    facts="checkov",
    remediation=(
        "Copy backups to a vault in a separate backup account (AWS Organizations), so that "
        "credentials that can delete the data cannot delete its copies."
    ),
    references=[
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/create-cross-account-backup.html"
    ],
)
def backup_copy_other_account(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    """Whoever controls the account can delete a copy kept in it; judged when accounts show."""
    for plan in _plans(facts):
        source = _source_place(facts, plan)
        for rule_name, copies in _copies(facts, plan):
            if not copies:
                continue  # IAC-BACKUP-PLAN-NO-COPY reports it
            kw = {**_kw(facts, ctx, plan), "key": rule_name}
            evidence = {
                "rule": rule_name,
                "source_account": source.account,
                "copy_accounts": [c.place.account for c in copies],
            }
            known = [c for c in copies if c.place.account]
            if not source.account or not known:
                yield Outcome.skip(
                    "the accounts are not identifiable from the tree (no assume_role ARN, "
                    "allowed_account_ids or literal vault ARN)",
                    evidence=evidence,
                    **kw,
                )
            elif any(c.place.account != source.account for c in known):
                yield Outcome.passed(evidence=evidence, **kw)
            else:
                yield Outcome.fail(
                    f"backup rule {rule_name!r} copies only into the primary's own account "
                    f"{source.account}",
                    evidence=evidence,
                    **kw,
                )


@check(
    id="IAC-BACKUP-VAULT-NO-LOCK",
    title="Backup vault without vault lock",
    area=Area.BACKUP,
    severity=Severity.MEDIUM,
    target=TargetKind.IAC,
    facts="checkov",
    remediation=(
        "Add aws_backup_vault_lock_configuration (LockConfiguration in CloudFormation) with a "
        "minimum retention, and changeable_for_days for compliance mode, so that recovery "
        "points cannot be deleted early, even by an administrator."
    ),
    references=["https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html"],
)
def backup_vault_locked(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    """Ransomware with admin credentials deletes recovery points first; a lock prevents it."""
    locks = list(facts.of_type("aws_backup_vault_lock_configuration"))
    for vault in facts.of_type("aws_backup_vault", "AWS::Backup::BackupVault"):
        kw = _kw(facts, ctx, vault)
        if vault.framework == "terraform":
            name = value(vault.attributes, "name")
            lock = next(
                (
                    lk
                    for lk in locks
                    if value(lk.attributes, "backup_vault_name") == name
                    or _refers(value(lk.attributes, "backup_vault_name"), vault)
                ),
                None,
            )
            if lock is None:
                yield Outcome.fail(f"vault {name!r} has no vault lock", **kw)
            else:
                mode = (
                    "compliance" if value(lock.attributes, "changeable_for_days") else "governance"
                )
                yield Outcome.passed(evidence={"lock": lock.address, "mode": mode}, **kw)
        else:
            lock_cfg = vault.attributes.get("LockConfiguration")
            if not lock_cfg:
                yield Outcome.fail(f"vault {vault.name!r} has no LockConfiguration", **kw)
            else:
                strict = isinstance(lock_cfg, Mapping) and lock_cfg.get("ChangeableForDays")
                mode = "compliance" if strict else "governance"
                yield Outcome.passed(evidence={"mode": mode}, **kw)


# --- S3 ----------------------------------------------------------------------------------------


def _sub_text(name: Any) -> Any:
    """A CloudFormation name built with Fn::Sub ("${AWS::AccountId}-shop-orders") as its text."""
    if isinstance(name, Mapping) and "Fn::Sub" in name:
        sub = name["Fn::Sub"]
        return sub[0] if isinstance(sub, list) and sub else sub
    return name


def _holds_data(bucket: IacResource, ctx: CheckContext) -> str | None:
    """Why we think a bucket holds backups or customer data (names and tags), else None."""
    words = [w.lower() for w in ctx.policy.get("iac.backup.data_bucket_keywords")]
    tag_values = {v.lower() for v in ctx.policy.get("iac.backup.data_tag_values")}
    attrs = bucket.attributes
    if bucket.framework == "terraform":
        names = [value(attrs, "bucket"), value(attrs, "bucket_prefix"), bucket.name]
        tags = value(attrs, "tags") or {}
    else:
        names = [_sub_text(attrs.get("BucketName")), bucket.name]
        tags = {t.get("Key"): t.get("Value") for t in blocks(attrs, "Tags")}
    for name in names:
        if isinstance(name, str):
            low = name.lower()
            hit = next((w for w in words if w in low), None)
            if hit:
                return f"name {name!r} contains {hit!r}"
    if isinstance(tags, Mapping):
        for key, val in tags.items():
            if isinstance(val, str) and val.lower() in tag_values:
                return f"tag {key}={val}"
    return None


holds_data = _holds_data  # shared with the encryption rules (same policy keywords)


def _replication_destinations(facts: IacFacts, bucket: IacResource) -> list[Any]:
    dests: list[Any] = []
    if bucket.framework == "terraform":
        configs = [
            rc.attributes
            for rc in facts.of_type("aws_s3_bucket_replication_configuration")
            if _refers(value(rc.attributes, "bucket"), bucket)
            or value(rc.attributes, "bucket") == value(bucket.attributes, "bucket")
        ]
        configs += blocks(bucket.attributes, "replication_configuration")
        for cfg in configs:
            for rule in blocks(cfg, "rule") + blocks(cfg, "rules"):
                for dest in blocks(rule, "destination"):
                    dests.append(value(dest, "bucket"))
    else:
        cfn_cfg = bucket.attributes.get("ReplicationConfiguration")
        if isinstance(cfn_cfg, Mapping):
            for rule in blocks(cfn_cfg, "Rules"):
                cfn_dest = rule.get("Destination")
                if isinstance(cfn_dest, Mapping):
                    dests.append(cfn_dest.get("Bucket"))
    return dests


@check(
    id="IAC-S3-DATA-NOT-REPLICATED",
    title="Bucket holding backups or customer data is not replicated to another region",
    area=Area.BACKUP,
    severity=Severity.HIGH,
    target=TargetKind.IAC,
    facts="checkov",
    remediation=(
        "Add a replication configuration to a bucket in another region (and account), with "
        "versioning on both; tag buckets by data class so posture can tell which hold data."
    ),
    references=["https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication.html"],
)
def s3_data_replicated(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    """Which buckets hold data is read from names and tags (policy iac.backup.*)."""
    buckets = list(facts.of_type("aws_s3_bucket", "AWS::S3::Bucket"))
    destinations = {
        id(d)
        for b in buckets
        for dest in _replication_destinations(facts, b)
        if (d := _referenced(facts, dest)) is not None
    }
    for bucket in buckets:
        if id(bucket) in destinations:
            continue  # a replica itself
        reason = _holds_data(bucket, ctx)
        if reason is None:
            continue
        kw = _kw(facts, ctx, bucket)
        dests = _replication_destinations(facts, bucket)
        evidence: dict[str, Any] = {
            "holds_data_because": reason,
            "destinations": [str(d) for d in dests],
        }
        if not dests:
            yield Outcome.fail(
                f"bucket holds data ({reason}) and is not replicated", evidence=evidence, **kw
            )
            continue
        source = _source_place(facts, bucket)
        places = []
        for dest in dests:
            target = _referenced(facts, dest)
            if target is not None and bucket.framework == "terraform":
                places.append(_place_of(facts, target))
            elif bucket.framework == "cloudformation":
                places.append(_cfn_place(dest, facts))
            else:
                places.append(Place(None, None, "literal bucket ARN (S3 ARNs carry no region)"))
        evidence["destination_regions"] = [p.region for p in places]
        if any(p.region and source.region and p.region != source.region for p in places):
            yield Outcome.passed(evidence=evidence, **kw)
        elif all(p.region and p.region == source.region for p in places):
            yield Outcome.fail(
                f"bucket holds data ({reason}) and replicates only within its own region",
                evidence=evidence,
                **kw,
            )
        else:
            yield Outcome.skip(
                "bucket replicates to a bucket whose region the tree does not show",
                evidence=evidence,
                **kw,
            )


# --- RDS / Aurora ----------------------------------------------------------------------------

_RDS_TF = ("aws_db_instance", "aws_rds_cluster")
_RDS_CFN = ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster")


def _primary_databases(facts: IacFacts) -> Iterator[IacResource]:
    for db in facts.of_type(*_RDS_TF, *_RDS_CFN):
        attrs = db.attributes
        if value(attrs, "replicate_source_db") or attrs.get("SourceDBInstanceIdentifier"):
            continue  # read replicas inherit the primary's backups
        if db.type == "AWS::RDS::DBInstance" and attrs.get("DBClusterIdentifier"):
            continue  # Aurora members: the cluster holds the backups
        if db.type == "aws_db_instance" and value(attrs, "engine", "").startswith("aurora"):
            continue
        yield db


@check(
    id="IAC-RDS-BACKUP-RETENTION",
    title="Database keeps automated backups for too short a time",
    area=Area.BACKUP,
    severity=Severity.HIGH,
    target=TargetKind.IAC,
    facts="checkov",
    remediation="Set backup_retention_period (BackupRetentionPeriod) to at least the policy minimum.",
    references=[
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html"
    ],
)
def rds_backup_retention(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    """Corruption is often found days late; short retention has already rotated out good copies."""
    minimum = int(ctx.policy.get("iac.backup.min_retention_days"))
    for db in _primary_databases(facts):
        kw = _kw(facts, ctx, db)
        raw = (
            value(db.attributes, "backup_retention_period")
            if db.framework == "terraform"
            else db.attributes.get("BackupRetentionPeriod")
        )
        days_text = "1" if raw is None else str(raw)
        evidence = {"retention_days": raw, "minimum_days": minimum, "default_applied": raw is None}
        if not days_text.strip().isdigit():
            yield Outcome.skip(
                f"retention is not a literal number ({days_text})", evidence=evidence, **kw
            )
        elif int(days_text) < minimum:
            yield Outcome.fail(
                f"automated backups kept {int(days_text)} day(s), under the {minimum}-day minimum"
                + (" (AWS default; not set)" if raw is None else ""),
                evidence=evidence,
                **kw,
            )
        else:
            yield Outcome.passed(evidence=evidence, **kw)


def _selected_by_cross_region_plan(facts: IacFacts, db: IacResource) -> str | None:
    for sel in facts.of_type("aws_backup_selection"):
        if not _refers(value(sel.attributes, "resources"), db) and not _refers(
            sel.attributes.get("resources"), db
        ):
            continue
        plan = _referenced(facts, value(sel.attributes, "plan_id"))
        if plan is not None and _plan_is_cross_region(facts, plan):
            return f"{sel.address} -> {plan.address}"
    for sel in facts.of_type("AWS::Backup::BackupSelection"):
        body = sel.attributes.get("BackupSelection") or {}
        resources = body.get("Resources") if isinstance(body, Mapping) else None
        if db.name not in str(resources):
            continue
        plan_ref = sel.attributes.get("BackupPlanId")
        plan_name = plan_ref.get("Ref") if isinstance(plan_ref, Mapping) else None
        for plan in facts.of_type("AWS::Backup::BackupPlan"):
            if (
                plan.name == plan_name
                and plan.path == sel.path
                and _plan_is_cross_region(facts, plan)
            ):
                return f"{sel.address} -> {plan.address}"
    return None


@check(
    id="IAC-RDS-NO-CROSS-REGION-BACKUP",
    title="Database has no backup in another region",
    area=Area.BACKUP,
    severity=Severity.HIGH,
    target=TargetKind.IAC,
    facts="checkov",
    remediation=(
        "Replicate automated backups to another region (aws_db_instance_automated_backups_"
        "replication), add the database to an AWS Backup plan that copies to another region, "
        "or make an Aurora cluster part of a global cluster."
    ),
    references=[
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReplicateBackups.html"
    ],
)
def rds_cross_region_backup(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    """Automated RDS backups live in the database's region unless something copies them out."""
    for db in _primary_databases(facts):
        kw = _kw(facts, ctx, db)
        how = _selected_by_cross_region_plan(facts, db)
        if how is None and db.type == "aws_db_instance":
            for rep in facts.of_type("aws_db_instance_automated_backups_replication"):
                if _refers(value(rep.attributes, "source_db_instance_arn"), db):
                    how = rep.address
            for replica in facts.of_type("aws_db_instance"):
                src = value(replica.attributes, "replicate_source_db")
                if src is not None and _refers(src, db):
                    here, there = _place_of(facts, db), _place_of(facts, replica)
                    if here.region and there.region and here.region != there.region:
                        how = f"cross-region replica {replica.address}"
        if (
            how is None
            and db.type == "aws_rds_cluster"
            and value(db.attributes, "global_cluster_identifier")
        ):
            how = "global cluster"
        if (
            how is None
            and db.type == "AWS::RDS::DBCluster"
            and db.attributes.get("GlobalClusterIdentifier")
        ):
            how = "global cluster"
        if how:
            yield Outcome.passed(evidence={"cross_region_by": how}, **kw)
        else:
            yield Outcome.fail("no backup of this database leaves its region", **kw)


# --- DynamoDB and KMS: where checkov misses a resource ---------------------------------------


@check(
    id="IAC-DYNAMODB-REPLICA-PITR",
    title="DynamoDB replica without point-in-time recovery",
    area=Area.BACKUP,
    severity=Severity.HIGH,
    target=TargetKind.IAC,
    facts="checkov",
    remediation=(
        "Set point_in_time_recovery = true on every replica (replica blocks and "
        "aws_dynamodb_table_replica); checkov's CKV_AWS_28 covers only the primary table."
    ),
    references=[
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/PointInTimeRecovery.html"
    ],
)
def dynamodb_replica_pitr(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    """PITR is set per replica: a table with recovery on can have replicas with it off."""
    for replica in facts.of_type("aws_dynamodb_table_replica"):
        kw = _kw(facts, ctx, replica)
        if value(replica.attributes, "point_in_time_recovery") is True:
            yield Outcome.passed(**kw)
        else:
            yield Outcome.fail("table replica has point-in-time recovery off", **kw)
    for table in facts.of_type("aws_dynamodb_table"):
        for block in blocks(table.attributes, "replica"):
            region = value(block, "region_name")
            kw = {**_kw(facts, ctx, table), "key": str(region)}
            if value(block, "point_in_time_recovery") is True:
                yield Outcome.passed(evidence={"replica_region": region}, **kw)
            else:
                yield Outcome.fail(
                    f"replica in {region} has point-in-time recovery off",
                    evidence={"replica_region": region},
                    **kw,
                )


@check(
    id="IAC-KMS-ROTATION",
    title="KMS key not rotated automatically, or rotated too rarely",
    area=Area.ENCRYPTION,
    severity=Severity.MEDIUM,
    target=TargetKind.IAC,
    facts="checkov",
    remediation=(
        "Rotate imported key material on a schedule (it cannot rotate automatically), and keep "
        "rotation_period_in_days (RotationPeriodInDays) within the policy maximum."
    ),
    references=["https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html"],
)
def kms_rotation_gaps(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    """checkov's CKV_AWS_7 checks that rotation is on; not imported keys nor the period."""
    maximum = int(ctx.policy.get("iac.kms.max_rotation_days"))
    for key in facts.of_type("aws_kms_external_key"):
        yield Outcome.fail(
            "imported key material cannot rotate automatically; nothing in the tree rotates it",
            **_kw(facts, ctx, key),
        )
    for key in facts.of_type("aws_kms_key", "AWS::KMS::Key"):
        attrs = key.attributes
        tf = key.framework == "terraform"
        enabled = value(attrs, "enable_key_rotation") if tf else attrs.get("EnableKeyRotation")
        period = (
            value(attrs, "rotation_period_in_days") if tf else attrs.get("RotationPeriodInDays")
        )
        if enabled is not True or period is None:
            continue  # off: CKV_AWS_7 reports it; default period (365 days) is fine
        kw = _kw(facts, ctx, key)
        evidence = {"rotation_period_in_days": period, "maximum_days": maximum}
        if not str(period).isdigit():
            yield Outcome.skip(
                f"rotation period is not a literal number ({period})", evidence=evidence, **kw
            )
        elif int(str(period)) > maximum:
            yield Outcome.fail(
                f"key rotates every {period} days, over the {maximum}-day maximum",
                evidence=evidence,
                **kw,
            )
        else:
            yield Outcome.passed(evidence=evidence, **kw)
