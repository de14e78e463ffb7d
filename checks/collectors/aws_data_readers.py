"""Readers for where data lives in an AWS account and how it is kept: S3 buckets, KMS keys, RDS,
EBS, DynamoDB and AWS Backup. Each takes the account (checks/collectors/aws_account.py) and returns
facts (checks/collectors/aws_facts.py); a failed call is recorded there and leaves its family out."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .aws_account import Account, CallFailed, fan_out
from .aws_facts import (
    BackupPlan,
    BackupRule,
    Bucket,
    Database,
    KmsKey,
    Table,
    Vault,
    Volume,
)

# --- S3 (global list, per-bucket settings) ------------------------------------------------


def read_s3(
    account: Account, pool: ThreadPoolExecutor, partition: str, account_id: str
) -> tuple[list[Bucket], dict[str, bool] | None]:
    home = account.regions[0]
    try:
        # paginated with a page size, ListBuckets names each bucket's region (BucketRegion),
        # which saves a GetBucketLocation call per bucket
        listing = account.pages(
            "s3", home, "ListBuckets", "Buckets", "s3", PaginationConfig={"PageSize": 1000}
        )
    except CallFailed:
        return [], None
    account_pab: dict[str, bool] | None = None
    try:
        answer = account.call(
            "s3control",
            home,
            "GetPublicAccessBlock",
            "s3",
            absent=("NoSuchPublicAccessBlockConfiguration",),
            AccountId=account_id,
        )
        if answer is not None:
            account_pab = dict(answer.get("PublicAccessBlockConfiguration", {}))
    except CallFailed:
        account_pab = None
    fully_blocked = bool(account_pab) and all(account_pab.values())  # type: ignore[union-attr]

    def one(item: dict[str, Any]) -> Bucket:
        name = str(item["Name"])
        region = item.get("BucketRegion")
        if not region:
            loc = account.call("s3", home, "GetBucketLocation", "s3", Bucket=name) or {}
            region = loc.get("LocationConstraint") or "us-east-1"
        enc = account.call(
            "s3",
            home,
            "GetBucketEncryption",
            "s3",
            absent=("ServerSideEncryptionConfigurationNotFoundError",),
            Bucket=name,
        )
        algorithm, key = None, None
        if enc is not None:
            rules = enc.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
            default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
            algorithm = default.get("SSEAlgorithm")
            key = default.get("KMSMasterKeyID")
        pab_answer = account.call(
            "s3",
            home,
            "GetPublicAccessBlock",
            "s3",
            absent=("NoSuchPublicAccessBlockConfiguration",),
            Bucket=name,
        )
        pab = dict(pab_answer["PublicAccessBlockConfiguration"]) if pab_answer else None
        is_public: bool | None = None
        if not fully_blocked and not (pab and all(pab.values())):
            status = account.call(
                "s3",
                home,
                "GetBucketPolicyStatus",
                "s3",
                absent=("NoSuchBucketPolicy",),
                Bucket=name,
            )
            is_public = bool(status and status.get("PolicyStatus", {}).get("IsPublic"))
            acl = account.call("s3", home, "GetBucketAcl", "s3", Bucket=name) or {}
            for grant in acl.get("Grants", []):
                uri = str(grant.get("Grantee", {}).get("URI", ""))
                if uri.endswith("/global/AllUsers") or uri.endswith("/global/AuthenticatedUsers"):
                    is_public = True
        repl = account.call(
            "s3",
            home,
            "GetBucketReplication",
            "s3",
            absent=("ReplicationConfigurationNotFoundError",),
            Bucket=name,
        )
        destinations: list[tuple[str, str | None, str | None]] = []
        for rule in (repl or {}).get("ReplicationConfiguration", {}).get("Rules", []):
            if rule.get("Status") != "Enabled":
                continue
            dest = rule.get("Destination", {})
            destinations.append((str(dest.get("Bucket", "")), dest.get("Account"), None))
        return Bucket(
            name=name,
            arn=f"arn:{partition}:s3:::{name}",
            region=str(region),
            encryption=algorithm,
            kms_key=key,
            key_manager=None,
            public_access_block=pab,
            is_public=is_public,
            replication=tuple(destinations),
        )

    buckets = fan_out(pool, one, listing)
    regions = {b.name: b.region for b in buckets}
    resolved = []
    for b in buckets:  # the destination's region, when the destination is ours
        dests = tuple((d, a, regions.get(d.rsplit(":", 1)[-1])) for d, a, _ in b.replication)
        resolved.append(dataclasses.replace(b, replication=dests))
    return resolved, account_pab


# --- KMS -------------------------------------------------------------------------------------


def read_kms(
    account: Account, pool: ThreadPoolExecutor
) -> tuple[tuple[KmsKey, ...], dict[str, str]]:
    keys: list[KmsKey] = []
    aliases: dict[str, str] = {}  # alias name and alias ARN -> key ARN
    for region in account.regions:
        aws_managed: set[str] = set()  # keys behind alias/aws/*: AWS's own, whatever they report
        try:
            listed = account.pages("kms", region, "ListKeys", "Keys", "kms")
            for alias in account.pages("kms", region, "ListAliases", "Aliases", "kms"):
                target = alias.get("TargetKeyId")
                if target:
                    key_arn = f"{alias['AliasArn'].rsplit(':', 1)[0]}:key/{target}"
                    aliases[alias["AliasArn"]] = key_arn
                    aliases[f"{region}/{alias['AliasName']}"] = key_arn
                    if str(alias.get("AliasName", "")).startswith("alias/aws/"):
                        aws_managed.add(str(target))
        except CallFailed:
            continue

        def one(
            item: dict[str, Any], region: str = region, aws_managed: set[str] = aws_managed
        ) -> KmsKey:
            meta = account.call("kms", region, "DescribeKey", "kms", KeyId=item["KeyArn"])
            assert meta is not None
            m = dict(meta["KeyMetadata"])
            if m.get("KeyId") in aws_managed:
                m["KeyManager"] = "AWS"
            rotation: bool | None = None
            symmetric = m.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
            if m.get("KeyManager") == "CUSTOMER" and symmetric and m.get("KeyState") == "Enabled":
                if m.get("Origin", "AWS_KMS") == "AWS_KMS":
                    status = account.call(
                        "kms", region, "GetKeyRotationStatus", "kms", KeyId=item["KeyArn"]
                    )
                    rotation = bool(status and status.get("KeyRotationEnabled"))
            return KmsKey(
                arn=str(m["Arn"]),
                region=region,
                manager=str(m.get("KeyManager", "")),
                spec=str(m.get("KeySpec", "")),
                state=str(m.get("KeyState", "")),
                rotation=rotation,
            )

        keys.extend(fan_out(pool, one, listed))
    return tuple(keys), aliases


def _manager_of(
    key: str | None, region: str | None, keys: tuple[KmsKey, ...], aliases: dict[str, str]
) -> str | None:
    if not key:
        return None
    if key.startswith("alias/aws/") or ":alias/aws/" in key:
        return "AWS"
    arn = aliases.get(key) or aliases.get(f"{region}/{key}") or key
    for k in keys:
        if k.arn == arn or k.arn.endswith(f"/{arn}"):
            return k.manager
    return None


def with_manager(bucket: Bucket, keys: tuple[KmsKey, ...], aliases: dict[str, str]) -> Bucket:
    if bucket.encryption and bucket.encryption.startswith("aws:kms"):
        manager = (
            _manager_of(bucket.kms_key, bucket.region, keys, aliases) if bucket.kms_key else "AWS"
        )
        return dataclasses.replace(bucket, key_manager=manager)
    return bucket


def table_manager(table: Table, keys: tuple[KmsKey, ...], aliases: dict[str, str]) -> Table:
    if table.sse == "KMS":
        return dataclasses.replace(
            table, key_manager=_manager_of(table.kms_key, table.region, keys, aliases)
        )
    return table


def _region_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


# Where DescribeDBClusters and DescribeDBInstances put the same facts under different names.
_RDS_FIELDS = {
    "cluster": {
        "arn": "DBClusterArn",
        "identifier": "DBClusterIdentifier",
        "cluster": "",  # a cluster is its own unit
        "replica_of": "ReplicationSourceIdentifier",
        "replicas": "ReadReplicaIdentifiers",
    },
    "instance": {
        "arn": "DBInstanceArn",
        "identifier": "DBInstanceIdentifier",
        "cluster": "DBClusterIdentifier",
        "replica_of": "ReadReplicaSourceDBInstanceIdentifier",
        "replicas": "ReadReplicaDBInstanceIdentifiers",
    },
}


def _database(kind: str, item: dict[str, Any], region: str) -> Database:
    names = _RDS_FIELDS[kind]

    def elsewhere(regions: Iterable[str]) -> tuple[str, ...]:
        return tuple(r for r in regions if r and r != region)

    backups = (  # automated backups copied to other regions (instances only)
        _region_of(str(r.get("DBInstanceAutomatedBackupsArn", "")))
        for r in item.get("DBInstanceAutomatedBackupsReplications", [])
    )
    return Database(
        arn=str(item.get(names["arn"], "")),
        identifier=str(item.get(names["identifier"], "")),
        region=region,
        engine=str(item.get("Engine", "")),
        kind=kind,
        encrypted=bool(item.get("StorageEncrypted")),
        kms_key=item.get("KmsKeyId"),
        publicly_accessible=bool(item.get("PubliclyAccessible")),
        backup_retention=int(item.get("BackupRetentionPeriod") or 0),
        cluster=item.get(names["cluster"]) if names["cluster"] else None,
        replica_of=item.get(names["replica_of"]),
        backup_replication_regions=elsewhere(backups),
        replica_regions=elsewhere(_region_of(a) for a in item.get(names["replicas"], [])),
    )


def read_rds(account: Account, region: str) -> list[Database]:
    try:
        clusters = account.pages("rds", region, "DescribeDBClusters", "DBClusters", "rds")
        instances = account.pages("rds", region, "DescribeDBInstances", "DBInstances", "rds")
    except CallFailed:
        return []
    return [_database("cluster", c, region) for c in clusters] + [
        _database("instance", i, region) for i in instances
    ]


def read_ebs(account: Account, region: str, acct: str) -> tuple[list[Volume], bool | None]:
    default: bool | None = None
    try:
        answer = account.call("ec2", region, "GetEbsEncryptionByDefault", "ebs") or {}
        default = bool(answer.get("EbsEncryptionByDefault"))
    except CallFailed:
        pass
    found: list[Volume] = []
    try:
        for v in account.pages("ec2", region, "DescribeVolumes", "Volumes", "ebs"):
            vid = str(v["VolumeId"])
            found.append(
                Volume(
                    vid,
                    f"arn:aws:ec2:{region}:{acct}:volume/{vid}",
                    region,
                    "volume",
                    bool(v.get("Encrypted")),
                )
            )
        for s in account.pages(
            "ec2", region, "DescribeSnapshots", "Snapshots", "ebs", OwnerIds=["self"]
        ):
            sid = str(s["SnapshotId"])
            found.append(
                Volume(
                    sid,
                    f"arn:aws:ec2:{region}::snapshot/{sid}",
                    region,
                    "snapshot",
                    bool(s.get("Encrypted")),
                )
            )
    except CallFailed:
        pass
    return found, default


def read_dynamodb(account: Account, pool: ThreadPoolExecutor, region: str) -> list[Table]:
    try:
        names = account.pages("dynamodb", region, "ListTables", "TableNames", "dynamodb")
    except CallFailed:
        return []

    def one(name: str) -> Table:
        desc = (
            account.call("dynamodb", region, "DescribeTable", "dynamodb", TableName=name) or {}
        )["Table"]
        sse = desc.get("SSEDescription") or {}
        backups = (
            account.call(
                "dynamodb", region, "DescribeContinuousBackups", "dynamodb", TableName=name
            )
            or {}
        )
        pitr = (
            backups.get("ContinuousBackupsDescription", {})
            .get("PointInTimeRecoveryDescription", {})
            .get("PointInTimeRecoveryStatus")
        )
        return Table(
            name=name,
            arn=str(desc.get("TableArn", "")),
            region=region,
            sse="KMS"
            if sse.get("SSEType") == "KMS" and sse.get("Status") in ("ENABLED", "UPDATING", None)
            else "AWS_OWNED",
            kms_key=sse.get("KMSMasterKeyArn"),
            key_manager=None,
            pitr=None if pitr is None else pitr == "ENABLED",
        )

    return fan_out(pool, one, names)


def read_backup(
    account: Account, pool: ThreadPoolExecutor, region: str
) -> tuple[list[BackupPlan], list[Vault]]:
    plans: list[BackupPlan] = []
    vaults: list[Vault] = []
    try:
        listed = account.pages("backup", region, "ListBackupPlans", "BackupPlansList", "backup")
        vault_list = account.pages(
            "backup", region, "ListBackupVaults", "BackupVaultList", "backup"
        )
    except CallFailed:
        return plans, vaults

    def plan(item: dict[str, Any]) -> BackupPlan:
        answer = (
            account.call(
                "backup", region, "GetBackupPlan", "backup", BackupPlanId=item["BackupPlanId"]
            )
            or {}
        )
        rules = []
        for rule in answer.get("BackupPlan", {}).get("Rules", []):
            rules.append(
                BackupRule(
                    name=str(rule.get("RuleName", "")),
                    vault=str(rule.get("TargetBackupVaultName", "")),
                    copy_to=tuple(
                        str(c.get("DestinationBackupVaultArn", ""))
                        for c in rule.get("CopyActions", [])
                    ),
                )
            )
        return BackupPlan(
            str(item.get("BackupPlanArn", "")),
            str(item.get("BackupPlanName", "")),
            region,
            tuple(rules),
        )

    def vault(item: dict[str, Any]) -> Vault:
        count = int(item.get("NumberOfRecoveryPoints") or 0)
        newest: dt.datetime | None = None
        if count:
            points = account.pages(
                "backup",
                region,
                "ListRecoveryPointsByBackupVault",
                "RecoveryPoints",
                "backup",
                BackupVaultName=item["BackupVaultName"],
            )
            dates = [p["CreationDate"] for p in points if p.get("CreationDate")]
            newest = max(dates) if dates else None
        return Vault(
            arn=str(item.get("BackupVaultArn", "")),
            name=str(item.get("BackupVaultName", "")),
            region=region,
            locked=bool(item.get("Locked")),
            recovery_points=count,
            newest_recovery_point=newest,
        )

    plans = fan_out(pool, plan, listed)
    vaults = fan_out(pool, vault, vault_list)
    return plans, vaults
