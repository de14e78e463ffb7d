"""posture's own backup-separation rules over real checkov parses: a bad and a good case each."""

from __future__ import annotations

import pytest

from posture.model import Area, Result, Severity, Status

from .conftest import FIXTURES, line_of, pick

BAD_TF = FIXTURES / "bad" / "main.tf"
BAD_CFN = FIXTURES / "bad" / "stack.yaml"
GOOD_TF = FIXTURES / "good" / "main.tf"
GOOD_CFN = FIXTURES / "good" / "stack.yaml"

# (check id, area, severity, resource, file, text on the resource's first line)
BAD = [
    (
        "IAC-BACKUP-PLAN-NO-COPY",
        Area.BACKUP,
        Severity.HIGH,
        "aws_backup_plan.nocopy",
        BAD_TF,
        '"aws_backup_plan" "nocopy"',
    ),
    (
        "IAC-BACKUP-PLAN-NO-COPY",
        Area.BACKUP,
        Severity.HIGH,
        "AWS::Backup::BackupPlan.Plan",
        BAD_CFN,
        "  Plan:",
    ),
    (
        "IAC-BACKUP-PLAN-NO-COPY",
        Area.BACKUP,
        Severity.HIGH,
        "AWS::Backup::BackupPlan.SameRegionPlan",
        BAD_CFN,
        "  SameRegionPlan:",
    ),
    (
        "IAC-BACKUP-COPY-SAME-ACCOUNT",
        Area.BACKUP,
        Severity.MEDIUM,
        "aws_backup_plan.sameaccount",
        BAD_TF,
        '"aws_backup_plan" "sameaccount"',
    ),
    (
        "IAC-BACKUP-VAULT-NO-LOCK",
        Area.BACKUP,
        Severity.MEDIUM,
        "aws_backup_vault.main",
        BAD_TF,
        '"aws_backup_vault" "main"',
    ),
    (
        "IAC-BACKUP-VAULT-NO-LOCK",
        Area.BACKUP,
        Severity.MEDIUM,
        "AWS::Backup::BackupVault.Vault",
        BAD_CFN,
        "  Vault:",
    ),
    (
        "IAC-S3-DATA-NOT-REPLICATED",
        Area.BACKUP,
        Severity.HIGH,
        "aws_s3_bucket.customer_exports",
        BAD_TF,
        '"aws_s3_bucket" "customer_exports"',
    ),
    (
        "IAC-S3-DATA-NOT-REPLICATED",
        Area.BACKUP,
        Severity.HIGH,
        "AWS::S3::Bucket.BackupBucket",
        BAD_CFN,
        "  BackupBucket:",
    ),
    (
        "IAC-RDS-BACKUP-RETENTION",
        Area.BACKUP,
        Severity.HIGH,
        "aws_db_instance.orders",
        BAD_TF,
        '"aws_db_instance" "orders"',
    ),
    (
        "IAC-RDS-BACKUP-RETENTION",
        Area.BACKUP,
        Severity.HIGH,
        "AWS::RDS::DBInstance.Database",
        BAD_CFN,
        "  Database:",
    ),
    (
        "IAC-RDS-NO-CROSS-REGION-BACKUP",
        Area.BACKUP,
        Severity.HIGH,
        "aws_db_instance.orders",
        BAD_TF,
        '"aws_db_instance" "orders"',
    ),
    (
        "IAC-RDS-NO-CROSS-REGION-BACKUP",
        Area.BACKUP,
        Severity.HIGH,
        "AWS::RDS::DBInstance.Database",
        BAD_CFN,
        "  Database:",
    ),
    (
        "IAC-DYNAMODB-REPLICA-PITR",
        Area.BACKUP,
        Severity.HIGH,
        "aws_dynamodb_table.carts",
        BAD_TF,
        '"aws_dynamodb_table" "carts"',
    ),
    (
        "IAC-KMS-ROTATION",
        Area.ENCRYPTION,
        Severity.MEDIUM,
        "aws_kms_external_key.imported",
        BAD_TF,
        '"aws_kms_external_key" "imported"',
    ),
    (
        "IAC-KMS-ROTATION",
        Area.ENCRYPTION,
        Severity.MEDIUM,
        "aws_kms_key.slow",
        BAD_TF,
        '"aws_kms_key" "slow"',
    ),
]

GOOD = [
    ("IAC-BACKUP-PLAN-NO-COPY", "aws_backup_plan.daily", GOOD_TF, '"aws_backup_plan" "daily"'),
    ("IAC-BACKUP-PLAN-NO-COPY", "AWS::Backup::BackupPlan.Plan", GOOD_CFN, "  Plan:"),
    ("IAC-BACKUP-COPY-SAME-ACCOUNT", "aws_backup_plan.daily", GOOD_TF, '"aws_backup_plan" "daily"'),
    ("IAC-BACKUP-COPY-SAME-ACCOUNT", "AWS::Backup::BackupPlan.Plan", GOOD_CFN, "  Plan:"),
    ("IAC-BACKUP-VAULT-NO-LOCK", "aws_backup_vault.main", GOOD_TF, '"aws_backup_vault" "main"'),
    ("IAC-BACKUP-VAULT-NO-LOCK", "aws_backup_vault.dr", GOOD_TF, '"aws_backup_vault" "dr"'),
    ("IAC-BACKUP-VAULT-NO-LOCK", "AWS::Backup::BackupVault.Vault", GOOD_CFN, "  Vault:"),
    (
        "IAC-S3-DATA-NOT-REPLICATED",
        "aws_s3_bucket.customer_exports",
        GOOD_TF,
        '"aws_s3_bucket" "customer_exports"',
    ),
    ("IAC-RDS-BACKUP-RETENTION", "aws_db_instance.orders", GOOD_TF, '"aws_db_instance" "orders"'),
    ("IAC-RDS-BACKUP-RETENTION", "aws_rds_cluster.catalog", GOOD_TF, '"aws_rds_cluster" "catalog"'),
    ("IAC-RDS-BACKUP-RETENTION", "AWS::RDS::DBInstance.Database", GOOD_CFN, "  Database:"),
    (
        "IAC-RDS-NO-CROSS-REGION-BACKUP",
        "aws_db_instance.orders",
        GOOD_TF,
        '"aws_db_instance" "orders"',
    ),
    (
        "IAC-RDS-NO-CROSS-REGION-BACKUP",
        "aws_rds_cluster.catalog",
        GOOD_TF,
        '"aws_rds_cluster" "catalog"',
    ),
    ("IAC-RDS-NO-CROSS-REGION-BACKUP", "AWS::RDS::DBInstance.Database", GOOD_CFN, "  Database:"),
    (
        "IAC-DYNAMODB-REPLICA-PITR",
        "aws_dynamodb_table.carts",
        GOOD_TF,
        '"aws_dynamodb_table" "carts"',
    ),
    ("IAC-KMS-ROTATION", "aws_kms_key.data", GOOD_TF, '"aws_kms_key" "data"'),
]


def _one(results: list[Result], check_id: str, resource: str) -> Result:
    found = pick(results, check_id, resource)
    assert len(found) == 1, [r.to_dict() for r in pick(results, check_id)]
    return found[0]


@pytest.mark.parametrize(("check_id", "area", "severity", "resource", "path", "needle"), BAD)
def test_bad_case_fails_at_the_resource(
    bad_results: list[Result],
    check_id: str,
    area: Area,
    severity: Severity,
    resource: str,
    path,
    needle: str,  # noqa: ANN001
) -> None:
    result = _one(bad_results, check_id, resource)
    assert result.status is Status.FAIL, result.message
    assert (result.area, result.severity) == (area, severity)
    assert result.location is not None
    assert result.location.path.endswith(f"fixtures/iac/bad/{path.name}")
    assert result.location.start_line == line_of(path, needle)
    assert (
        result.location.end_line is not None
        and result.location.end_line > result.location.start_line
    )


@pytest.mark.parametrize(("check_id", "resource", "path", "needle"), GOOD)
def test_good_case_passes(
    good_results: list[Result],
    check_id: str,
    resource: str,
    path,
    needle: str,  # noqa: ANN001
) -> None:
    result = _one(good_results, check_id, resource)
    assert result.status is Status.PASS, result.message
    assert result.location is not None and result.location.start_line == line_of(path, needle)


def test_copy_within_the_region_is_named(bad_results: list[Result]) -> None:
    result = _one(bad_results, "IAC-BACKUP-PLAN-NO-COPY", "AWS::Backup::BackupPlan.SameRegionPlan")
    assert "within region" in result.message


def test_same_account_copy_names_the_account(bad_results: list[Result]) -> None:
    result = _one(bad_results, "IAC-BACKUP-COPY-SAME-ACCOUNT", "aws_backup_plan.sameaccount")
    assert "111111111111" in result.message
    assert result.evidence["copy_accounts"] == ["111111111111"]
    # the same plan does copy to another region, so the no-copy rule passes it
    assert (
        _one(bad_results, "IAC-BACKUP-PLAN-NO-COPY", "aws_backup_plan.sameaccount").status
        is Status.PASS
    )


def test_replica_bucket_is_not_asked_to_replicate_again(good_results: list[Result]) -> None:
    assert (
        pick(good_results, "IAC-S3-DATA-NOT-REPLICATED", "aws_s3_bucket.customer_exports_dr") == []
    )


def test_cross_region_evidence_says_how(good_results: list[Result]) -> None:
    cluster = _one(good_results, "IAC-RDS-NO-CROSS-REGION-BACKUP", "aws_rds_cluster.catalog")
    assert "aws_backup_plan.daily" in cluster.evidence["cross_region_by"]
    plan = _one(good_results, "IAC-BACKUP-PLAN-NO-COPY", "aws_backup_plan.daily")
    assert plan.evidence["copies"][0]["region"] == "us-east-1"
