"""What posture read from an AWS account: plain frozen records, no boto3. The collector
(checks/collectors/aws_cloud.py) fills them; the checks (checks/aws.py) judge them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ApiError:
    """One failed call: it blocks the facts ``blocks`` names in ``region``."""

    service: str
    region: str
    operation: str
    code: str
    message: str
    blocks: str  # the facts family it blocked: s3, rds, ebs, dynamodb, kms, backup, iam, ec2

    @property
    def kind(self) -> str:
        code = self.code.lower()
        if "throttl" in code or code in ("requestlimitexceeded", "toomanyrequestsexception"):
            return "throttled"
        if "accessdenied" in code or code in ("unauthorizedoperation", "authfailure"):
            return "access denied"
        return "failed"


@dataclass(frozen=True)
class Bucket:
    name: str
    arn: str
    region: str | None
    encryption: str | None  # AES256, aws:kms, aws:kms:dsse, or None (no default encryption)
    kms_key: str | None
    key_manager: str | None  # CUSTOMER, AWS, or None when unknown / not KMS
    public_access_block: dict[str, bool] | None  # the bucket's own block, None if not set
    is_public: bool | None  # policy or ACL makes it public; None when not read
    replication: tuple[tuple[str, str | None, str | None], ...]  # (dest bucket, account, region)


@dataclass(frozen=True)
class Database:
    arn: str
    identifier: str
    region: str
    engine: str
    kind: str  # instance or cluster
    encrypted: bool
    kms_key: str | None
    publicly_accessible: bool
    backup_retention: int
    cluster: str | None  # instances in a cluster are judged through their cluster
    replica_of: str | None  # a read replica's source
    backup_replication_regions: tuple[str, ...]
    replica_regions: tuple[str, ...]


@dataclass(frozen=True)
class Volume:
    id: str
    arn: str
    region: str
    kind: str  # volume or snapshot
    encrypted: bool


@dataclass(frozen=True)
class Table:
    name: str
    arn: str
    region: str
    sse: str  # AWS_OWNED, KMS
    kms_key: str | None
    key_manager: str | None
    pitr: bool | None


@dataclass(frozen=True)
class KmsKey:
    arn: str
    region: str
    manager: str
    spec: str
    state: str
    rotation: bool | None


@dataclass(frozen=True)
class BackupRule:
    name: str
    vault: str
    copy_to: tuple[str, ...]  # destination vault ARNs


@dataclass(frozen=True)
class BackupPlan:
    arn: str
    name: str
    region: str
    rules: tuple[BackupRule, ...]


@dataclass(frozen=True)
class Vault:
    arn: str
    name: str
    region: str
    locked: bool
    recovery_points: int
    newest_recovery_point: dt.datetime | None


@dataclass(frozen=True)
class IamUser:
    name: str
    arn: str
    console: bool
    mfa: bool
    keys: tuple[tuple[str, dt.datetime | None], ...]  # (key slot, last rotated) of active keys


@dataclass(frozen=True)
class OpenIngress:
    group_id: str
    arn: str
    region: str
    group_name: str
    port_from: int
    port_to: int
    protocol: str
    cidr: str


@dataclass(frozen=True)
class AwsFacts:
    account: str
    partition: str
    regions: tuple[str, ...]
    name: str
    buckets: tuple[Bucket, ...] = ()
    account_public_access_block: dict[str, bool] | None = None
    databases: tuple[Database, ...] = ()
    volumes: tuple[Volume, ...] = ()
    ebs_default_encryption: dict[str, bool] = field(default_factory=dict)
    tables: tuple[Table, ...] = ()
    kms_keys: tuple[KmsKey, ...] = ()
    backup_plans: tuple[BackupPlan, ...] = ()
    vaults: tuple[Vault, ...] = ()
    root_mfa: bool | None = None
    root_access_keys: bool | None = None
    users: tuple[IamUser, ...] | None = None
    open_ingress: tuple[OpenIngress, ...] = ()
    errors: tuple[ApiError, ...] = ()
    calls: dict[str, int] = field(default_factory=dict)  # IAM action -> calls made

    def blocked(self, family: str, region: str | None = None) -> list[ApiError]:
        """The failed calls that kept ``family`` facts (in ``region``, or anywhere) from us."""
        return [
            e
            for e in self.errors
            if e.blocks == family and (region is None or e.region in (region, "global"))
        ]
