"""Real checkov over Terraform, CloudFormation and Kubernetes fixtures, and our backup rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from posture.engine import ScanRequest, scan
from posture.model import Area, Result, Severity, Status
from posture.plugin import ScanOptions
from posture.runner import Selection
from posture.scanreport import ScanReport

from .conftest import FIXTURES, RunCli

IAC = FIXTURES / "iac"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> ScanReport:
    broken = tmp_path_factory.mktemp("broken")
    shutil.copytree(IAC / "broken", broken, dirs_exist_ok=True)
    with (broken / "huge.tf").open("wb") as handle:  # 20 MB, sparse: never committed
        handle.truncate(20 * 1024 * 1024)
    paths = [str(IAC / name) for name in ("tf_bad", "tf_good", "cfn", "k8s")] + [str(broken)]
    request = ScanRequest(
        iac_paths=paths,
        options=ScanOptions(collect_timeout=300),
        selection=Selection(only=("IAC-*",)),
    )
    result = scan(request)
    result.meta["broken"] = str(broken)
    return result


def of(report: ScanReport, tree: str, check_id: str, status: Status = Status.FAIL) -> list[Result]:
    return [
        r
        for r in report.results
        if r.target.endswith(tree) and r.check_id == check_id and r.status is status
    ]


def where(result: Result) -> tuple[str, int | None]:
    assert result.location is not None
    return Path(result.location.path).name, result.location.start_line


@pytest.mark.parametrize(
    ("check_id", "area", "severity", "file", "line", "resource"),
    [
        ("CKV_AWS_16", Area.ENCRYPTION, Severity.HIGH, "main.tf", 10, "aws_db_instance.orders"),
        ("CKV_AWS_17", Area.ACCESS, Severity.CRITICAL, "main.tf", 10, "aws_db_instance.orders"),
        ("CKV_AWS_28", Area.BACKUP, Severity.MEDIUM, "main.tf", 20, "aws_dynamodb_table.carts"),
        ("CKV_AWS_18", Area.LOGGING, Severity.LOW, "main.tf", 6, "aws_s3_bucket.customer_exports"),
        ("CKV_AWS_7", Area.ENCRYPTION, Severity.MEDIUM, "main.tf", 30, "aws_kms_key.data"),
    ],
)
def test_checkov_terraform_results_carry_area_severity_file_and_line(
    report: ScanReport,
    check_id: str,
    area: Area,
    severity: Severity,
    file: str,
    line: int,
    resource: str,
) -> None:
    found = [r for r in of(report, "tf_bad", check_id) if r.resource == resource]
    assert found, check_id
    r = found[0]
    assert (r.area, r.severity, where(r), r.evidence["checkov_id"]) == (
        area,
        severity,
        (file, line),
        check_id,
    )
    assert not of(report, "tf_good", check_id) or check_id in ("CKV_AWS_18",)


def test_cloudformation_and_kubernetes(report: ScanReport) -> None:
    cfn = {
        r.check_id: r
        for r in report.results
        if r.target.endswith("cfn") and r.status is Status.FAIL
    }
    assert cfn["CKV_AWS_16"].area is Area.ENCRYPTION and where(cfn["CKV_AWS_16"]) == (
        "template.yaml",
        8,
    )
    assert cfn["CKV_AWS_17"].resource == "AWS::RDS::DBInstance.OrdersDb"
    k8s = {
        r.check_id: r
        for r in report.results
        if r.target.endswith("k8s") and r.status is Status.FAIL
    }
    assert k8s["CKV_K8S_16"].area is Area.ACCESS and k8s["CKV_K8S_16"].severity is Severity.HIGH
    assert where(k8s["CKV_K8S_16"])[0] == "deployment.yaml"


def test_unmapped_checkov_results_are_kept_in_area_other(report: ScanReport) -> None:
    unmapped = [
        r for r in report.results if r.status is Status.FAIL and r.evidence.get("mapped") is False
    ]
    assert unmapped and all(
        r.area is Area.OTHER and r.severity is Severity.MEDIUM for r in unmapped
    )


def test_checkov_skip_comment_is_honoured_with_its_reason(report: ScanReport) -> None:
    waived = [
        r
        for r in report.results
        if r.check_id == "CKV_AWS_18" and r.resource == "aws_s3_bucket.legacy_logs"
    ]
    assert [r.status for r in waived] == [Status.WAIVED]
    assert waived[0].waiver is not None and "would loop" in waived[0].waiver.reason


@pytest.mark.parametrize(
    ("check_id", "resource", "key"),
    [
        ("IAC-BACKUP-COPY", "aws_backup_plan.no_copy", "no-copy"),
        ("IAC-BACKUP-COPY", "aws_backup_plan.copy_same_region", "same-region"),
        ("IAC-BACKUP-COPY", "aws_backup_plan.copy_same_account", "same-account"),
        ("IAC-BACKUP-VAULT-LOCK", "aws_backup_vault.main", None),
        ("IAC-S3-REPLICATION", "aws_s3_bucket.customer_exports", "none"),
        ("IAC-DB-BACKUP", "aws_db_instance.orders", "retention"),
        ("IAC-DYNAMODB-PITR", "aws_dynamodb_table.carts", None),
        ("IAC-KMS-ROTATION", "aws_kms_key.data", None),
    ],
)
def test_backup_rules_fail_the_bad_tree_and_pass_the_good_one(
    report: ScanReport, check_id: str, resource: str, key: str | None
) -> None:
    bad = [r for r in of(report, "tf_bad", check_id) if r.resource == resource and r.key == key]
    assert bad, (check_id, resource)
    assert bad[0].location is not None and bad[0].location.start_line
    assert of(report, "tf_good", check_id) == []
    assert of(report, "tf_good", check_id, Status.PASS)


def test_logs_bucket_is_not_treated_as_customer_data(report: ScanReport) -> None:
    assert not [
        r
        for r in of(report, "tf_bad", "IAC-S3-REPLICATION")
        if r.resource == "aws_s3_bucket.legacy_logs"
    ]


def test_bad_files_are_errors_naming_them_and_the_rest_is_scanned(report: ScanReport) -> None:
    broken = report.meta["broken"]
    errors = {
        Path(r.location.path).name: r.message
        for r in report.results
        if r.target == broken and r.status is Status.ERROR and r.location
    }
    assert set(errors) == {"broken.tf", "bomb.yaml", "huge.tf"}
    assert "could not parse" in errors["broken.tf"]
    assert "alias" in errors["bomb.yaml"] and "over the" in errors["huge.tf"]
    scanned = [r for r in report.results if r.target == broken and r.status is Status.FAIL]
    assert any(r.check_id == "CKV_AWS_16" and where(r)[0] == "good.tf" for r in scanned)


def test_mapping_override_from_posture_yaml(tmp_path: Path, run_cli: RunCli) -> None:
    shutil.copytree(IAC / "tf_bad", tmp_path / "infra")
    (tmp_path / "posture.yaml").write_text(
        "version: 1\niac:\n  - path: infra\n    frameworks: [terraform]\n"
        "    mapping:\n      CKV_AWS_18: {area: privacy, severity: critical}\n"
    )
    proc = run_cli(
        "scan", "-c", "posture.yaml", "--only", "IAC-CHECKOV", "--format", "json", timeout=300
    )
    import json

    found = [
        r
        for r in json.loads(proc.stdout)["results"]
        if r["check_id"] == "CKV_AWS_18" and r["status"] == "fail"
    ]
    assert found and found[0]["area"] == "privacy" and found[0]["severity"] == "critical"
    bad = (tmp_path / "posture.yaml").read_text().replace("severity: critical", "severity: urgent")
    (tmp_path / "posture.yaml").write_text(bad)
    proc = run_cli("scan", "-c", "posture.yaml")
    assert proc.returncode == 2 and "posture.yaml:6" in proc.stderr
