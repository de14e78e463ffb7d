"""posture's encryption-at-rest rules where checkov is silent, on real checkov parses.

Each bad resource fails with its own line (and device, for block devices), each good one passes,
and for every posture failure checkov's own results on that resource fail nothing about
encryption or keys: the rules add what checkov misses, not a second copy of what it finds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from posture.model import Area, Result, Severity, Status

from .conftest import FIXTURES, _scan, line_of, pick

TREE = FIXTURES / "encryption"
CMK = "IAC-DATASTORE-NO-CMK"
EBS = "IAC-EC2-VOLUME-UNENCRYPTED"
ABOUT_ENCRYPTION = re.compile(r"encrypt|kms|cmk|customer managed|sse", re.IGNORECASE)

# (check, resource, key, file, text on the resource's first line)
BAD = [
    (EBS, "AWS::EC2::Instance.WebServer", "/dev/xvda", "stack.yaml", "  WebServer:"),
    (EBS, "AWS::EC2::Instance.WebServer", "/dev/sdf", "stack.yaml", "  WebServer:"),
    (EBS, "AWS::EC2::Instance.Bastion", "root", "stack.yaml", "  Bastion:"),
    (EBS, "AWS::EC2::LaunchTemplate.AppTemplate", "/dev/xvda", "stack.yaml", "  AppTemplate:"),
    (EBS, "aws_launch_template.app", "/dev/xvda", "main.tf", '"aws_launch_template" "app"'),
    (EBS, "aws_launch_template.bare", "root", "main.tf", '"aws_launch_template" "bare"'),
    (CMK, "AWS::S3::Bucket.CustomerExports", None, "stack.yaml", "  CustomerExports:"),
    (CMK, "AWS::S3::Bucket.OrderArchive", None, "stack.yaml", "  OrderArchive:"),
    (CMK, "AWS::RDS::DBInstance.OrdersDb", None, "stack.yaml", "  OrdersDb:"),
    (CMK, "AWS::RDS::DBCluster.AuroraCluster", None, "stack.yaml", "  AuroraCluster:"),
    (CMK, "AWS::DocDB::DBCluster.CatalogDocs", None, "stack.yaml", "  CatalogDocs:"),
    (CMK, "AWS::Neptune::DBCluster.Graph", None, "stack.yaml", "  Graph:"),
    (CMK, "AWS::ElastiCache::ReplicationGroup.Sessions", None, "stack.yaml", "  Sessions:"),
    (CMK, "AWS::Redshift::Cluster.Warehouse", None, "stack.yaml", "  Warehouse:"),
    (CMK, "AWS::EFS::FileSystem.Uploads", None, "stack.yaml", "  Uploads:"),
    (CMK, "AWS::EC2::Volume.DataVolume", None, "stack.yaml", "  DataVolume:"),
    (CMK, "AWS::DynamoDB::Table.Carts", None, "stack.yaml", "  Carts:"),
    (CMK, "aws_db_instance.orders", None, "main.tf", '"aws_db_instance" "orders"'),
    (CMK, "aws_rds_cluster.aurora", None, "main.tf", '"aws_rds_cluster" "aurora"'),
    (CMK, "aws_ebs_volume.data", None, "main.tf", '"aws_ebs_volume" "data"'),
]
GOOD = [
    (EBS, "AWS::EC2::Instance.WebServer", "/dev/xvda"),
    (EBS, "AWS::EC2::Instance.WebServer", "/dev/sdf"),
    (EBS, "AWS::EC2::LaunchTemplate.AppTemplate", "/dev/xvda"),
    (EBS, "aws_launch_template.app", "/dev/xvda"),
    (CMK, "AWS::S3::Bucket.CustomerExports", None),
    (CMK, "AWS::RDS::DBInstance.OrdersDb", None),
    (CMK, "AWS::RDS::DBCluster.AuroraCluster", None),
    (CMK, "AWS::DocDB::DBCluster.CatalogDocs", None),
    (CMK, "AWS::Neptune::DBCluster.Graph", None),
    (CMK, "AWS::ElastiCache::ReplicationGroup.Sessions", None),
    (CMK, "AWS::Redshift::Cluster.Warehouse", None),
    (CMK, "AWS::EFS::FileSystem.Uploads", None),
    (CMK, "AWS::EC2::Volume.DataVolume", None),
    (CMK, "aws_db_instance.orders", None),
]


@pytest.fixture(scope="session")
def enc_bad() -> list[Result]:
    return _scan(TREE / "bad")


@pytest.fixture(scope="session")
def enc_good() -> list[Result]:
    return _scan(TREE / "good")


def _one(results: list[Result], check_id: str, resource: str, key: str | None) -> Result:
    [result] = [r for r in pick(results, check_id, resource) if r.key == key]
    return result


@pytest.mark.parametrize(("check_id", "resource", "key", "name", "needle"), BAD)
def test_bad_fails_at_its_line(
    enc_bad: list[Result], check_id: str, resource: str, key: str | None, name: str, needle: str
) -> None:
    result = _one(enc_bad, check_id, resource, key)
    assert result.status is Status.FAIL, result.message
    assert result.area is Area.ENCRYPTION
    assert result.location is not None
    assert result.location.path.endswith(f"encryption/bad/{name}")
    assert result.location.start_line == line_of(TREE / "bad" / name, needle)
    assert "GDPR-32-1-a" in result.obligations
    # an IaC resource is not known to hold PAN: PCI 3.5.1 only through a data store declaring card
    assert "PCI-3.5.1" not in result.obligations


@pytest.mark.parametrize(("check_id", "resource", "key", "name", "needle"), BAD)
def test_checkov_is_silent_where_posture_fails(
    enc_bad: list[Result], check_id: str, resource: str, key: str | None, name: str, needle: str
) -> None:
    checkov_failures = [
        r
        for r in enc_bad
        if r.resource == resource
        and r.evidence.get("checkov_id")
        and r.status is Status.FAIL
        and ABOUT_ENCRYPTION.search(r.title)
        and "transit" not in r.title.lower()  # in transit is another property
    ]
    assert checkov_failures == [], [r.check_id for r in checkov_failures]


@pytest.mark.parametrize(("check_id", "resource", "key"), GOOD)
def test_good_passes(enc_good: list[Result], check_id: str, resource: str, key: str | None) -> None:
    result = _one(enc_good, check_id, resource, key)
    assert result.status is Status.PASS, result.message


def test_no_failures_on_the_good_tree(enc_good: list[Result]) -> None:
    failing = [r for r in enc_good if r.check_id in (CMK, EBS) and r.status is not Status.PASS]
    assert failing == []


def test_aws_managed_alias_is_caught_where_checkov_passes(enc_bad: list[Result]) -> None:
    """checkov's key-present rules take alias/aws/... for a customer-managed key."""
    [table] = pick(enc_bad, "CKV_AWS_119", "AWS::DynamoDB::Table.Carts")
    assert table.status is Status.PASS
    assert _one(enc_bad, CMK, "AWS::DynamoDB::Table.Carts", None).status is Status.FAIL
    [cluster] = pick(enc_bad, "CKV_AWS_327", "aws_rds_cluster.aurora")
    assert cluster.status is Status.PASS
    assert "alias/aws/rds" in _one(enc_bad, CMK, "aws_rds_cluster.aurora", None).message


def test_where_checkov_judges_the_key_posture_stays_silent(enc_good: list[Result]) -> None:
    for resource in ("aws_rds_cluster.aurora", "aws_ebs_volume.data", "AWS::DynamoDB::Table.Carts"):
        assert pick(enc_good, CMK, resource) == []
        assert any(r.evidence.get("checkov_id") for r in enc_good if r.resource == resource)


def test_undeclared_root_volume_is_medium(enc_bad: list[Result]) -> None:
    result = _one(enc_bad, EBS, "AWS::EC2::Instance.Bastion", "root")
    assert result.severity is Severity.MEDIUM
    assert "AMI" in result.message


def test_account_default_encryption_covers_launch_templates() -> None:
    results = _scan(TREE / "account-default")
    result = _one(results, EBS, "aws_launch_template.bare", None)
    assert result.status is Status.PASS
    assert result.evidence["default_encryption"] == "aws_ebs_encryption_by_default.this"


def test_value_not_fixed_by_the_tree_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Parameters:\n  Encrypt:\n    Type: String\n"
        "Resources:\n"
        "  Web:\n    Type: AWS::EC2::Instance\n    Properties:\n"
        "      ImageId: ami-0123456789abcdef0\n"
        "      BlockDeviceMappings:\n        - DeviceName: /dev/xvda\n"
        "          Ebs:\n            Encrypted: !Ref Encrypt\n"
        "        - DeviceName: /dev/sdg\n"
        "          Ebs:\n            SnapshotId: snap-0123456789abcdef0\n"
    )
    results = _scan(tmp_path)
    assert _one(results, EBS, "AWS::EC2::Instance.Web", "/dev/xvda").status is Status.SKIPPED
    snap = _one(results, EBS, "AWS::EC2::Instance.Web", "/dev/sdg")
    assert snap.status is Status.SKIPPED and "snapshot" in snap.message


def test_module_input_left_null_is_not_set(tmp_path: Path) -> None:
    """checkov leaves ``var.kms_key_id`` for an input nobody set (default null): no key."""
    (tmp_path / "modules" / "db").mkdir(parents=True)
    (tmp_path / "modules" / "db" / "main.tf").write_text(
        'variable "kms_key_id" {\n  default = null\n}\n'
        'variable "replicate_source_db" {\n  default = null\n}\n'
        'resource "aws_db_instance" "this" {\n  engine = "postgres"\n'
        '  instance_class = "db.t3.micro"\n  storage_encrypted = true\n'
        "  kms_key_id = var.kms_key_id\n  replicate_source_db = var.replicate_source_db\n}\n"
    )
    for name, extra in (
        ("plain", ""),
        ("keyed", '  kms_key_id = "arn:aws:kms:eu-west-1:111122223333:key/1"\n'),
    ):
        (tmp_path / "envs" / name).mkdir(parents=True)
        (tmp_path / "envs" / name / "main.tf").write_text(
            f'module "db" {{\n  source = "../../modules/db"\n{extra}}}\n'
        )
    results = [r for r in _scan(tmp_path) if r.check_id == CMK]
    by_root = {r.origin.root: r for r in results if r.origin is not None}
    assert by_root["envs/plain"].status is Status.FAIL
    assert by_root["envs/keyed"].status is Status.PASS
    assert by_root["envs/plain"].location is not None
    assert by_root["envs/plain"].location.path == "modules/db/main.tf"
