"""checkov's own findings through posture: ids, mapped areas and severities, files and lines."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from posture.config import load_config
from posture.engine import ScanRequest, scan
from posture.errors import ConfigError
from posture.model import Area, Result, Severity, Status

from .conftest import FIXTURES, line_of, pick

# Each area's main checkov checks: (id, resource, area, severity, file, needle)
BAD_CHECKOV = [
    (
        "CKV_AWS_16",
        "aws_db_instance.orders",
        Area.ENCRYPTION,
        Severity.HIGH,
        "main.tf",
        '"aws_db_instance" "orders"',
    ),
    (
        "CKV_AWS_17",
        "aws_db_instance.orders",
        Area.ACCESS,
        Severity.CRITICAL,
        "main.tf",
        '"aws_db_instance" "orders"',
    ),
    (
        "CKV_AWS_24",
        "aws_security_group.ssh",
        Area.ACCESS,
        Severity.HIGH,
        "main.tf",
        '"aws_security_group" "ssh"',
    ),
    (
        "CKV_AWS_28",
        "aws_dynamodb_table.carts",
        Area.BACKUP,
        Severity.HIGH,
        "main.tf",
        '"aws_dynamodb_table" "carts"',
    ),
    (
        "CKV_AWS_18",
        "AWS::S3::Bucket.BackupBucket",
        Area.LOGGING,
        Severity.MEDIUM,
        "stack.yaml",
        "  BackupBucket:",
    ),
    (
        "CKV_AWS_16",
        "AWS::RDS::DBInstance.Database",
        Area.ENCRYPTION,
        Severity.HIGH,
        "stack.yaml",
        "  Database:",
    ),
    ("CKV_AWS_7", "AWS::KMS::Key.Key", Area.ENCRYPTION, Severity.MEDIUM, "stack.yaml", "  Key:"),
    ("CKV_K8S_16", "Deployment.shop.shop", Area.ACCESS, Severity.HIGH, "deploy.yaml", "apiVersion"),
]
GOOD_CHECKOV = [
    ("CKV_AWS_16", "aws_db_instance.orders"),
    ("CKV_AWS_17", "aws_db_instance.orders"),
    ("CKV_AWS_24", "aws_security_group.web"),
    ("CKV_AWS_28", "aws_dynamodb_table.carts"),
    ("CKV_AWS_16", "AWS::RDS::DBInstance.Database"),
    ("CKV_AWS_7", "AWS::KMS::Key.Key"),
    ("CKV_K8S_16", "Deployment.shop.shop"),
]


@pytest.mark.parametrize(
    ("check_id", "resource", "area", "severity", "name", "needle"), BAD_CHECKOV
)
def test_checkov_failure_mapped(
    bad_results: list[Result],
    check_id: str,
    resource: str,
    area: Area,
    severity: Severity,
    name: str,
    needle: str,
) -> None:
    [result] = pick(bad_results, check_id, resource)
    assert result.status is Status.FAIL
    assert (result.area, result.severity) == (area, severity)
    assert result.evidence["checkov_id"] == check_id
    assert result.title and not result.title.startswith("checkov rules")  # checkov's own title
    assert result.location is not None and result.location.path.endswith(f"iac/bad/{name}")
    assert result.location.start_line == line_of(FIXTURES / "bad" / name, needle)


@pytest.mark.parametrize(("check_id", "resource"), GOOD_CHECKOV)
def test_checkov_pass_reported(good_results: list[Result], check_id: str, resource: str) -> None:
    [result] = pick(good_results, check_id, resource)
    assert result.status is Status.PASS


def test_inline_skip_alone_waives_nothing_by_default(bad_results: list[Result]) -> None:
    [result] = pick(bad_results, "CKV_AWS_18", "aws_s3_bucket.customer_exports")
    assert result.status is Status.FAIL and result.waiver is None
    assert result.evidence["suppression"]["kind"] == "checkov:skip"


def test_inline_skip_is_waived_with_its_reason_and_place_when_policy_allows(
    tmp_path: Path,
) -> None:
    import shutil

    shutil.copytree(FIXTURES / "bad", tmp_path / "bad")
    (tmp_path / "posture.yaml").write_text(
        "version: 1\niac:\n  - path: bad\npolicy:\n  overrides:\n    waivers:\n"
        "      require_central_for_inline: false\n      inline_max_severity: medium\n"
    )
    results = scan(ScanRequest(config=load_config(tmp_path / "posture.yaml"))).results
    [result] = pick(results, "CKV_AWS_18", "aws_s3_bucket.customer_exports")
    assert result.status is Status.WAIVED
    assert result.waiver is not None
    assert result.waiver.reason == "exports are logged by CloudTrail data events"
    assert "main.tf" in result.waiver.source
    assert result.evidence["suppression"]["kind"] == "checkov:skip"
    assert result.evidence["suppression"]["location"]["start_line"] == line_of(
        FIXTURES / "bad" / "main.tf", '"aws_s3_bucket" "customer_exports"'
    )


def test_unmapped_checkov_failure_still_appears_as_other(tmp_path: Path) -> None:
    from posture.checks.collectors.checkov_mapping import builtin_mapping

    mapping = builtin_mapping()
    assert "CKV_AWS_999999" not in mapping.entries
    assert mapping.lookup("CKV_AWS_999999").area == "other"


def test_mapping_override_from_posture_yaml(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(FIXTURES / "bad", tmp_path / "bad")  # paths stay inside posture.yaml's folder
    (tmp_path / "posture.yaml").write_text(
        textwrap.dedent("""\
        version: 1
        iac:
          - path: bad
        checkov:
          mapping:
            CKV_AWS_24: {severity: critical}
            CKV_AWS_18: {area: privacy}
        """)
    )
    config = load_config(tmp_path / "posture.yaml")
    results = scan(ScanRequest(config=config)).results
    [ssh] = pick(results, "CKV_AWS_24", "aws_security_group.ssh")
    assert (ssh.area, ssh.severity) == (Area.ACCESS, Severity.CRITICAL)
    assert ssh.evidence["mapping"].endswith("posture.yaml:6")
    [logs] = pick(results, "CKV_AWS_18", "AWS::S3::Bucket.BackupBucket")
    assert (logs.area, logs.severity) == (Area.PRIVACY, Severity.MEDIUM)


@pytest.mark.parametrize(
    ("snippet", "line"),
    [
        ("CKV_AWS_24: {severity: huge}", 3),
        ("CKV_AWS_24: {colour: red}", 3),
        ("not-an-id: {area: backup}", 2),
    ],
)
def test_mapping_override_is_strict(tmp_path: Path, snippet: str, line: int) -> None:
    (tmp_path / "posture.yaml").write_text(f"checkov:\n  mapping:\n    {snippet}\n")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "posture.yaml")
    assert f"posture.yaml:{line}" in str(err.value)


def test_builtin_mapping_rejects_a_bad_area() -> None:
    from posture._yaml import load_yaml_text
    from posture.checks.collectors.checkov_mapping import validate_mapping

    data = load_yaml_text(
        "version: 1\ndefaults: {area: other, severity: medium}\nchecks:\n  CKV_AWS_1: {area: bakup, severity: high}\n",
        "m.yaml",
    )
    with pytest.raises(ConfigError, match=r"m.yaml:4"):
        validate_mapping(data, "m.yaml")


def test_bad_files_are_errors_and_the_rest_is_scanned(broken_results: list[Result]) -> None:
    errors = {
        Path(r.location.path).name: r
        for r in broken_results
        if r.status is Status.ERROR and r.location
    }
    assert set(errors) == {"broken.tf", "bomb.yaml", "huge.tf"}
    assert "could not parse" in errors["broken.tf"].message
    assert "expand" in errors["bomb.yaml"].message
    assert "limit" in errors["huge.tf"].message
    assert all(r.check_id == "IAC-UNREADABLE-FILE" for r in errors.values())
    [fine] = pick(broken_results, "CKV_AWS_18", "aws_s3_bucket.fine")
    assert fine.status is Status.FAIL


def test_second_scan_is_served_from_the_cache(tmp_path: Path) -> None:
    from posture.checks.collectors.checkov_scan import collect_iac
    from posture.model import Target, TargetKind
    from posture.plugin import CollectContext, ScanOptions
    from posture.policy import Policy

    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "main.tf").write_text((FIXTURES / "broken" / "ok.tf").read_text())
    target = Target(TargetKind.IAC, str(tree), {"abs_path": str(tree)})
    ctx = CollectContext(ScanOptions(), Policy.load(), None, str(tmp_path))
    first = collect_iac(target, ctx)
    second = collect_iac(target, ctx)
    assert not first.from_cache and second.from_cache
    assert second.findings == first.findings
    (tree / "main.tf").write_text('resource "aws_s3_bucket" "other" {\n  bucket = "y"\n}\n')
    third = collect_iac(target, ctx)
    assert not third.from_cache
    assert {f.resource for f in third.findings} == {"aws_s3_bucket.other"}


def test_machine_output_stays_clean(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "posture",
            "scan",
            "--iac",
            str(FIXTURES / "broken"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
    )
    data = json.loads(proc.stdout)  # nothing but JSON on stdout
    assert any(r["check_id"] == "CKV_AWS_18" for r in data["results"])
    assert "checkov" not in proc.stderr.lower() or "Traceback" not in proc.stderr
