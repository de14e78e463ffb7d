"""Prowler's OCSF output read as observed evidence (fixture: real Prowler output, see its README)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "prowler" / "prowler-5.46.0-moto-careless.ocsf.json"


def _scan(tmp: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp / "r.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "posture",
            "scan",
            "--no-record",
            "--format",
            "json",
            "--output",
            str(out),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc, json.loads(out.read_text())


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("prowler")
    proc, report = _scan(tmp, "--import", str(FIXTURE))
    assert proc.returncode == 1, proc.stderr  # critical and high failures in the careless account
    return report


def test_every_finding_is_kept_with_prowlers_id_and_resource(imported: dict) -> None:
    findings = json.loads(FIXTURE.read_text())
    results = [r for r in imported["results"] if r["target_kind"] == "import"]
    assert len(results) == len(findings)
    expected = Counter(
        {"FAIL": "fail", "PASS": "pass", "MANUAL": "skipped"}[f["status_code"]] for f in findings
    )
    assert Counter(r["status"] for r in results) == expected
    assert {r["check_id"] for r in results} == {f["metadata"]["event_code"] for f in findings}
    by_uid = {r["evidence"]["finding_uid"]: r for r in results}
    for finding in findings:
        result = by_uid[finding["finding_info"]["uid"]]
        assert result["resource"] == finding["resources"][0]["uid"]
        assert result["evidence"]["account"] == "111111111111"
        assert result["evidence_source"] == "observed"
        assert result["severity"] == {"informational": "info"}.get(
            finding["severity"].lower(), finding["severity"].lower()
        )
        if finding["remediation"].get("desc"):
            assert result["remediation"] == finding["remediation"]["desc"]


def test_findings_reach_posture_areas_and_obligations(imported: dict) -> None:
    results = {r["check_id"]: r for r in imported["results"] if r["target_kind"] == "import"}
    assert results["rds_instance_storage_encrypted"]["area"] == "encryption"
    assert "GDPR-32-1-a" in results["rds_instance_storage_encrypted"]["obligations"]
    assert results["dynamodb_tables_pitr_enabled"]["area"] == "backup"
    assert results["iam_user_mfa_enabled_console_access"]["area"] == "access"
    assert all(r["obligations"] for r in results.values() if r["area"] != "other")


def test_unknown_ids_land_in_other_and_malformed_findings_are_named(tmp_path: Path) -> None:
    findings = json.loads(FIXTURE.read_text())[:3]
    stranger = json.loads(json.dumps(findings[0]))
    stranger["metadata"]["event_code"] = "zz_service_made_up_check"
    stranger["resources"][0]["group"]["name"] = "zz_service"
    broken = {"status_code": "FAIL"}
    path = tmp_path / "mixed.ocsf.json"
    path.write_text(json.dumps([*findings, stranger, broken]))
    _, report = _scan(tmp_path, "--import", str(path))
    results = [r for r in report["results"] if r["target_kind"] == "import"]
    made_up = [r for r in results if r["check_id"] == "zz_service_made_up_check"]
    assert made_up and made_up[0]["area"] == "other"
    errors = [r for r in results if r["status"] == "error"]
    assert len(errors) == 1 and "finding 4" in errors[0]["message"]
    assert len(results) == 5


def test_bad_files_are_one_error_each_and_the_scan_goes_on(tmp_path: Path) -> None:
    (tmp_path / "not-json.json").write_text("{ this is not json")
    config = tmp_path / "posture.yaml"
    config.write_text(f"version: 1\nimports:\n  - path: not-json.json\n  - path: {FIXTURE.name}\n")
    (tmp_path / FIXTURE.name).write_bytes(FIXTURE.read_bytes())
    _, report = _scan(tmp_path, "-c", str(config))
    by_target = Counter(
        (r["target"], r["status"]) for r in report["results"] if r["target_kind"] == "import"
    )
    assert by_target[("not-json.json", "error")] == 1
    assert by_target[(FIXTURE.name, "fail")] == 76


def test_devices_and_fifos_are_refused_not_read(tmp_path: Path) -> None:
    import os

    proc = subprocess.run(
        [sys.executable, "-m", "posture", "scan", "--no-record", "--import", "/dev/zero"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and "/dev/zero" in proc.stderr and "Traceback" not in proc.stderr
    os.mkfifo(tmp_path / "pipe.json")
    config = tmp_path / "posture.yaml"
    config.write_text("version: 1\nimports:\n  - path: pipe.json\n")
    _, report = _scan(tmp_path, "-c", str(config))
    errors = [r for r in report["results"] if r["status"] == "error"]
    assert len(errors) == 1 and "not a regular file" in errors[0]["message"]


def test_mapping_covers_prowlers_aws_checks() -> None:
    from posture._yaml import load_trusted_yaml
    from posture.policy import read_policy_text

    data = load_trusted_yaml(*read_policy_text("mappings", "prowler.yaml"))
    areas = Counter(entry["area"] for entry in data["checks"].values())
    assert sum(areas.values()) > 600
    assert set(areas) <= {
        "tls",
        "web",
        "access",
        "encryption",
        "backup",
        "payment",
        "vendor",
        "privacy",
        "logging",
        "other",
    }
    assert areas["other"] / sum(areas.values()) < 0.2
