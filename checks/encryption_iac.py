"""Encryption at rest where checkov is silent, in both languages, over checkov's own parse.

checkov judges whether most data stores are encrypted at all, but in CloudFormation it does not
look at an EC2 instance's or a launch template's block devices, nor (in either language, for
several stores) at *which* key encrypts: a store on the AWS managed key (``aws/rds``, SSE-S3)
cannot have a key policy of its own, cannot be shared with or shut off from another account, and
its key use is not separable in CloudTrail. These rules fill those gaps, and only those: where a
checkov rule already judges the same property of the same resource type, posture stays silent,
except for a key that merely names an AWS managed alias (``alias/aws/...``), which checkov's
key-present rules count as a customer-managed key.

Rules judge literal values. A value the tree does not fix (a parameter, an unresolved variable,
a condition) makes the result *skipped* with the reason; a store restored from a snapshot takes
the snapshot's key, and is skipped too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from posture.model import Area, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check

from ._iac_place import place
from .backup_iac import holds_data
from .collectors.checkov_scan import collect_iac
from .collectors.iac_facts import IacFacts, IacResource, blocks, value

__all__ = ["block_devices_encrypted", "collect_iac", "stores_use_cmk"]

_AWS_MANAGED = re.compile(r"(^|[:/])alias/aws/")
KMS_DOCS = "https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-mgmt"
EBS_DOCS = "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html"


def _kw(facts: IacFacts, ctx: CheckContext, res: IacResource) -> dict[str, Any]:
    where = place(facts, ctx, res.path, res.start_line, res.end_line, res.origin)
    return {"resource": res.address, **where.outcome_kw()}


def _get(attrs: Mapping[str, Any], path: Sequence[str], terraform: bool) -> Any:
    """A nested attribute (``SSESpecification.KMSMasterKeyId``), unwrapping Terraform's lists."""
    current: Any = attrs
    for part in path:
        if terraform:
            found = blocks(current, part) if isinstance(current, Mapping) else []
            if part == path[-1]:
                return value(current, part) if isinstance(current, Mapping) else None
            current = found[0] if found else None
        else:
            current = current.get(part) if isinstance(current, Mapping) else None
        if current is None:
            return None
    return current


_NULL_REFERENCE = re.compile(r"^\$?\{?(var|local)\.[\w-]+\}?$")


def _set(raw: Any) -> Any:
    """``raw``, or None where checkov left a bare ``var.x`` / ``local.x``.

    checkov substitutes every variable it can evaluate, and leaves the reference's text for a
    variable that evaluates to null (a module input nobody set: ``kms_key_id = var.kms_key_id``
    with ``default = null``): Terraform then treats the argument as not set.
    """
    if isinstance(raw, str) and _NULL_REFERENCE.match(raw.strip()):
        return None
    return raw


def _truth(raw: Any) -> bool | None:
    """True/False for a literal boolean ("true" too); None when the tree does not fix it."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    return None


def _snapshot(res: IacResource) -> Any:
    attrs = res.attributes
    if res.framework == "terraform":
        return _set(value(attrs, "snapshot_identifier")) or _set(value(attrs, "snapshot_id"))
    return attrs.get("DBSnapshotIdentifier") or attrs.get("SnapshotIdentifier")


# --- data stores: which key ---------------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    """Where a store type says it is encrypted and with which key, in one language."""

    type: str
    flag: tuple[str, ...] | None  # the "encrypted" switch; None: always encrypted
    key: tuple[str, ...]  # the KMS key
    checkov: str | None = None  # checkov's rule judging the key here: posture then flags aliases


STORES = (
    # CloudFormation: checkov judges encryption on/off for these, never the key (but DynamoDB)
    Store("AWS::RDS::DBInstance", ("StorageEncrypted",), ("KmsKeyId",)),
    Store("AWS::RDS::DBCluster", ("StorageEncrypted",), ("KmsKeyId",)),
    Store("AWS::DocDB::DBCluster", ("StorageEncrypted",), ("KmsKeyId",)),
    Store("AWS::Neptune::DBCluster", ("StorageEncrypted",), ("KmsKeyId",)),
    Store("AWS::ElastiCache::ReplicationGroup", ("AtRestEncryptionEnabled",), ("KmsKeyId",)),
    Store("AWS::Redshift::Cluster", ("Encrypted",), ("KmsKeyId",)),
    Store("AWS::EFS::FileSystem", ("Encrypted",), ("KmsKeyId",)),
    Store("AWS::EC2::Volume", ("Encrypted",), ("KmsKeyId",)),
    Store(
        "AWS::DynamoDB::Table",
        ("SSESpecification", "SSEEnabled"),
        ("SSESpecification", "KMSMasterKeyId"),
        "CKV_AWS_119",
    ),
    # Terraform: checkov judges the key of most, not of aws_db_instance
    Store("aws_db_instance", ("storage_encrypted",), ("kms_key_id",)),
    Store("aws_rds_cluster", ("storage_encrypted",), ("kms_key_id",), "CKV_AWS_327"),
    Store("aws_docdb_cluster", ("storage_encrypted",), ("kms_key_id",), "CKV_AWS_182"),
    Store("aws_neptune_cluster", ("storage_encrypted",), ("kms_key_arn",), "CKV_AWS_347"),
    Store(
        "aws_elasticache_replication_group",
        ("at_rest_encryption_enabled",),
        ("kms_key_id",),
        "CKV_AWS_191",
    ),
    Store("aws_redshift_cluster", ("encrypted",), ("kms_key_id",), "CKV_AWS_142"),
    Store("aws_efs_file_system", ("encrypted",), ("kms_key_id",), "CKV_AWS_184"),
    Store("aws_ebs_volume", ("encrypted",), ("kms_key_id",), "CKV_AWS_189"),
    Store(
        "aws_dynamodb_table",
        ("server_side_encryption", "enabled"),
        ("server_side_encryption", "kms_key_arn"),
        "CKV_AWS_119",
    ),
)
_STORES = {s.type: s for s in STORES}
_BUCKET_SSE = ("BucketEncryption", "ServerSideEncryptionConfiguration")


def _member_or_replica(res: IacResource) -> bool:
    """Aurora members and read replicas take the cluster's or the source's key."""
    attrs = res.attributes
    if res.type == "AWS::RDS::DBInstance":
        return bool(attrs.get("DBClusterIdentifier") or attrs.get("SourceDBInstanceIdentifier"))
    if res.type == "aws_db_instance":
        engine = value(attrs, "engine")
        return bool(_set(value(attrs, "replicate_source_db"))) or (
            isinstance(engine, str) and engine.startswith("aurora")
        )
    return False


def _store_outcome(facts: IacFacts, ctx: CheckContext, res: IacResource) -> Outcome | None:
    store = _STORES[res.type]
    tf = res.framework == "terraform"
    kw = _kw(facts, ctx, res)
    key = _set(_get(res.attributes, store.key, tf))
    key_text = key if isinstance(key, str) else None
    evidence: dict[str, Any] = {"kms_key": key if key is None or key_text else str(key)}
    if key_text and _AWS_MANAGED.search(key_text):
        return Outcome.fail(
            f"encrypted with the AWS managed key {key_text!r}, not a customer-managed key",
            evidence=evidence,
            **kw,
        )
    if store.checkov is not None:
        return None  # checkov's own rule judges a missing or customer-managed key
    if _member_or_replica(res):
        return None
    if store.flag is not None:
        flag_raw = _set(_get(res.attributes, store.flag, tf))
        flag = _truth(flag_raw)
        evidence["encrypted"] = flag_raw
        if flag is False or (flag_raw is None and not _snapshot(res)):
            return None  # unencrypted: checkov's at-rest rule reports it
        if flag is None and flag_raw is not None:
            return Outcome.skip(
                f"whether it is encrypted is not a literal value ({flag_raw})",
                evidence=evidence,
                **kw,
            )
    if key is None:
        if _snapshot(res):
            return Outcome.skip(
                "restored from a snapshot: it keeps the snapshot's key, which the tree does "
                "not show",
                evidence=evidence,
                **kw,
            )
        return Outcome.fail(
            "encrypted with the AWS managed key (no customer-managed KMS key given)",
            evidence=evidence,
            **kw,
        )
    return Outcome.passed(evidence=evidence, **kw)  # a key given: a customer-managed one


def _bucket_outcome(facts: IacFacts, ctx: CheckContext, bucket: IacResource) -> Outcome | None:
    """A CloudFormation bucket holding data: SSE-KMS with a customer-managed key, or not."""
    reason = holds_data(bucket, ctx)
    if reason is None:
        return None
    kw = _kw(facts, ctx, bucket)
    rules = _get(bucket.attributes, _BUCKET_SSE, False)
    defaults: list[Mapping[str, Any]] = []
    for rule in rules if isinstance(rules, list) else []:
        sse = rule.get("ServerSideEncryptionByDefault") if isinstance(rule, Mapping) else None
        if isinstance(sse, Mapping):
            defaults.append(sse)
    evidence: dict[str, Any] = {"holds_data": reason, "encryption": defaults or None}
    if not defaults:
        return Outcome.fail(
            f"bucket holds data ({reason}) and relies on the default SSE-S3 key (AWS owned)",
            evidence=evidence,
            **kw,
        )
    algorithm = defaults[0].get("SSEAlgorithm")
    key = defaults[0].get("KMSMasterKeyID")
    if algorithm in ("aws:kms", "aws:kms:dsse"):
        if key is None or (isinstance(key, str) and _AWS_MANAGED.search(key)):
            return Outcome.fail(
                f"bucket holds data ({reason}) and uses the AWS managed key aws/s3",
                evidence=evidence,
                **kw,
            )
        return Outcome.passed(evidence=evidence, **kw)
    if isinstance(algorithm, str):
        return Outcome.fail(
            f"bucket holds data ({reason}) and uses {algorithm} (SSE-S3, AWS owned key)",
            evidence=evidence,
            **kw,
        )
    return Outcome.skip(
        f"the encryption algorithm is not a literal value ({algorithm})", evidence=evidence, **kw
    )


@check(
    id="IAC-DATASTORE-NO-CMK",
    title="Data store encrypted with an AWS managed key, not a customer-managed key",
    area=Area.ENCRYPTION,
    severity=Severity.MEDIUM,
    target=TargetKind.IAC,
    facts="checkov",
    remediation=(
        "Encrypt the store with a customer-managed KMS key (KmsKeyId / kms_key_id; for buckets "
        "SSE-KMS with KMSMasterKeyID), whose key policy you control and whose use CloudTrail "
        "records per key. Changing the key of an existing database means a snapshot copy."
    ),
    references=[KMS_DOCS],
)
def stores_use_cmk(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    """The key decides who can read a copy: an AWS managed key cannot be scoped or revoked."""
    for res in facts.resources:
        outcome: Outcome | None = None
        if res.type in _STORES:
            outcome = _store_outcome(facts, ctx, res)
        elif res.type == "AWS::S3::Bucket":
            outcome = _bucket_outcome(facts, ctx, res)
        if outcome is not None:
            yield outcome


# --- EC2 block devices ------------------------------------------------------------------------


def _default_encryption(facts: IacFacts) -> IacResource | None:
    """A Terraform tree that turns on EBS encryption by default for the account and region."""
    for res in facts.of_type("aws_ebs_encryption_by_default"):
        if _truth(value(res.attributes, "enabled", True)) is not False:
            return res
    return None


@dataclass(frozen=True)
class Device:
    name: str
    encrypted: Any  # raw value of Encrypted / encrypted
    snapshot: Any


def _devices(res: IacResource) -> list[Device] | None:
    """EBS block devices a resource declares; None when it declares none (the AMI's root)."""
    if res.framework == "terraform":
        mappings = blocks(res.attributes, "block_device_mappings")
        found: list[Device] = []
        for m in mappings:
            ebs_blocks = blocks(m, "ebs")
            if ebs_blocks:
                found.append(
                    Device(
                        str(value(m, "device_name") or "?"),
                        _set(value(ebs_blocks[0], "encrypted")),
                        _set(value(ebs_blocks[0], "snapshot_id")),
                    )
                )
        return found or None
    attrs = res.attributes
    if res.type == "AWS::EC2::LaunchTemplate":
        data = attrs.get("LaunchTemplateData")
        attrs = data if isinstance(data, Mapping) else {}
    devices: list[Device] = []
    for m in blocks(attrs, "BlockDeviceMappings"):
        ebs = m.get("Ebs")
        if isinstance(ebs, Mapping):
            devices.append(
                Device(str(m.get("DeviceName") or "?"), ebs.get("Encrypted"), ebs.get("SnapshotId"))
            )
    return devices or None


_DEVICE_TYPES_CFN = ("AWS::EC2::Instance", "AWS::EC2::LaunchTemplate")
_DEVICE_TYPES_TF = ("aws_launch_template",)  # aws_instance: checkov's CKV_AWS_8


@check(
    id="IAC-EC2-VOLUME-UNENCRYPTED",
    title="EC2 instance or launch template volume not encrypted",
    area=Area.ENCRYPTION,
    severity=Severity.HIGH,
    target=TargetKind.IAC,
    facts="checkov",
    remediation=(
        "Set Encrypted: true (encrypted = true) on every EBS block device mapping, including "
        "the root device, ideally with a customer-managed KmsKeyId; or turn on EBS encryption "
        "by default for the account and region (aws_ebs_encryption_by_default)."
    ),
    references=[EBS_DOCS],
)
def block_devices_encrypted(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    """A volume's snapshot, or the disk itself when detached, is readable unless encrypted."""
    default_on = _default_encryption(facts)
    for res in facts.of_type(*_DEVICE_TYPES_CFN, *_DEVICE_TYPES_TF):
        kw = _kw(facts, ctx, res)
        tf = res.framework == "terraform"
        if tf and default_on is not None:
            yield Outcome.passed(
                "EBS encryption by default is on for the account and region",
                evidence={"default_encryption": default_on.address},
                **kw,
            )
            continue
        devices = _devices(res)
        if devices is None:
            yield Outcome.fail(
                "no block device mapping: the root volume takes the AMI snapshot's encryption, "
                "unencrypted unless the AMI's is or the account encrypts EBS by default",
                severity=Severity.MEDIUM,
                key="root",
                **kw,
            )
            continue
        for device in devices:
            flag = _truth(device.encrypted)
            evidence = {"device": device.name, "encrypted": device.encrypted}
            dkw = {**kw, "key": device.name}
            if flag is True:
                yield Outcome.passed(evidence=evidence, **dkw)
            elif device.encrypted is None and device.snapshot:
                yield Outcome.skip(
                    f"{device.name} is created from snapshot {device.snapshot} and takes its "
                    "encryption, which the tree does not show",
                    evidence=evidence,
                    **dkw,
                )
            elif flag is None and device.encrypted is not None:
                yield Outcome.skip(
                    f"{device.name}: Encrypted is not a literal value ({device.encrypted})",
                    evidence=evidence,
                    **dkw,
                )
            else:
                yield Outcome.fail(
                    f"block device {device.name} is not encrypted",
                    evidence=evidence,
                    **dkw,
                )
