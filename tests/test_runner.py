"""The runner isolates failures: a check that raises or hangs gives one error result."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest

from posture.engine import ScanRequest, scan
from posture.model import Status
from posture.plugin import ScanOptions
from posture.registry import load_registry
from posture.runner import Selection

from .conftest import FIXTURES, REPO, RunCli

LOCAL_CHECKS = str(FIXTURES / "core" / "checks")
SCHEMA = json.loads((REPO / "policies" / "schemas" / "scan-result.schema.json").read_text())


def local_scan(urls: list[str], selection: Selection = Selection(), check_timeout: float = 1.0):  # type: ignore[no-untyped-def]
    registry = load_registry([LOCAL_CHECKS])
    request = ScanRequest(
        urls=urls,
        options=ScanOptions(check_timeout=check_timeout),
        selection=selection,
        registry=registry,
    )
    return scan(request)


def only_test_checks() -> Selection:
    return Selection(only=("TEST-*",))


def test_raising_and_hanging_checks_give_one_error_each_and_others_report() -> None:
    started = time.monotonic()
    report = local_scan(["https://a.example", "https://b.example"], only_test_checks())
    elapsed = time.monotonic() - started
    by_check: dict[str, list[str]] = {}
    for result in report.results:
        by_check.setdefault(result.check_id, []).append(result.status.value)
    assert by_check["TEST-RAISES"] == ["error", "error"]
    assert by_check["TEST-HANGS"] == ["error", "error"]
    assert by_check["TEST-OK"] == ["pass", "pass"]
    assert by_check["TEST-FAILS"] == ["fail", "fail"]
    raised = next(r for r in report.results if r.check_id == "TEST-RAISES")
    assert "boom in check" in raised.message
    hung = next(r for r in report.results if r.check_id == "TEST-HANGS")
    assert "did not finish within 1 s" in hung.message
    # Hanging checks of both targets time out concurrently, not one after the other.
    assert elapsed < 10


def test_unreachable_target_errors_do_not_touch_other_targets() -> None:
    report = local_scan(["https://unreachable.example", "https://fine.example"], only_test_checks())
    bad = [r for r in report.results if r.target == "https://unreachable.example"]
    good = [r for r in report.results if r.target == "https://fine.example"]
    # One cause, one error: the collector failed, so the target gets one result naming the
    # cause and every check it blocked, not one error per check.
    assert [r.status for r in bad] == [Status.ERROR]
    assert bad[0].check_id == "COLLECT-ECHO"
    assert "connection refused" in bad[0].message
    assert bad[0].evidence["blocked_checks"] == [
        "TEST-FAILS",
        "TEST-HANGS",
        "TEST-OK",
        "TEST-RAISES",
    ]
    assert "4 checks blocked" in bad[0].message
    # The obligations of the blocked checks are at risk, not silently unassessed.
    assert "GDPR-32-1-a" in bad[0].obligations  # TEST-FAILS is a TLS-area check
    assert {r.check_id for r in good if r.status is Status.FAIL} == {"TEST-FAILS"}


def test_selection_by_id_glob_and_area() -> None:
    report = local_scan(["https://a.example"], Selection(only=("TEST-*",), skip=("web",)))
    assert {r.check_id for r in report.results} == {"TEST-FAILS"}


def test_fingerprint_ignores_evidence_and_is_stable_across_runs() -> None:
    first = local_scan(["https://a.example"], Selection(only=("TEST-FAILS",)))
    second = local_scan(["https://a.example"], Selection(only=("TEST-FAILS",)))
    assert first.results[0].fingerprint == second.results[0].fingerprint
    changed = first.results[0].with_(evidence={"days_left": 3}, message="other")
    assert changed.fingerprint == first.results[0].fingerprint
    other_key = first.results[0].with_(key="k2")
    assert other_key.fingerprint != first.results[0].fingerprint


def test_json_output_validates_against_the_schema_and_keeps_passes(run_cli: RunCli) -> None:
    proc = run_cli(
        "scan",
        "--checks-dir",
        LOCAL_CHECKS,
        "--only",
        "TEST-OK",
        "--only",
        "TEST-FAILS",
        "--target",
        "https://a.example",
        "--format",
        "json",
    )
    assert proc.returncode == 1, proc.stderr  # TEST-FAILS is high, the default --fail-on
    document = json.loads(proc.stdout)
    jsonschema.validate(document, SCHEMA)
    statuses = sorted(r["status"] for r in document["results"])
    assert statuses == ["fail", "pass"]
    assert document["summary"]["failures_by_severity"]["high"] == 1


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--only", "TEST-OK"], 0),
        (["--only", "TEST-FAILS"], 1),
        (["--only", "TEST-FAILS", "--fail-on", "critical"], 0),
        (["--only", "TEST-RAISES"], 3),
        (["--only", "TEST-FAILS", "--fail-on", "nonsense"], 2),
    ],
)
def test_exit_codes(run_cli: RunCli, args: list[str], code: int) -> None:
    proc = run_cli("scan", "--checks-dir", LOCAL_CHECKS, "--target", "https://a.example", *args)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_terminal_output_groups_by_area_and_totals(run_cli: RunCli) -> None:
    proc = run_cli(
        "scan",
        "--checks-dir",
        LOCAL_CHECKS,
        "--only",
        "TEST-*",
        "--skip",
        "TEST-HANGS",
        "--target",
        "https://a.example",
    )
    out = proc.stdout
    assert "TLS" in out and "WEB" in out
    assert "always fails" in out
    assert "FAIL: 1 at or above high" in out
    assert "1 errors" in out and "1 pass" in out


def test_several_formats_need_an_output_dir(run_cli: RunCli, tmp_path: Path) -> None:
    base = ["scan", "--checks-dir", LOCAL_CHECKS, "--only", "TEST-OK", "--target", "https://a"]
    proc = run_cli(*base, "--format", "json", "--format", "terminal")
    assert proc.returncode == 2 and "--output-dir" in proc.stderr
    proc = run_cli(*base, "--format", "json", "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 0
    assert json.loads((tmp_path / "out" / "posture.json").read_text())["results"]


def test_duplicate_check_id_is_a_load_error(tmp_path: Path, run_cli: RunCli) -> None:
    source = (FIXTURES / "core" / "checks" / "flaky_checks.py").read_text()
    (tmp_path / "one.py").write_text(source)
    (tmp_path / "two.py").write_text(
        "from posture import Area, Severity, TargetKind, check\n"
        "@check(id='TEST-OK', title='again', area=Area.WEB, severity=Severity.LOW,\n"
        "       target=TargetKind.STOREFRONT, facts='echo')\n"
        "def again(facts, ctx):\n    return []\n"
    )
    proc = run_cli("checks", "list", "--checks-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "duplicate check id 'TEST-OK'" in proc.stderr and "two.py" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_selection_that_matches_nothing_is_a_usage_error(run_cli: RunCli) -> None:
    proc = run_cli("scan", "--checks-dir", LOCAL_CHECKS, "--target", "https://a", "--only", "TSL")
    assert proc.returncode == 2
    assert "--only/--skip TSL: matches no check id or area" in proc.stderr


def test_a_check_that_does_not_apply_gives_no_result() -> None:
    """The sshd, VPN and nginx checks each read every evidence file: on a file of another kind
    they do not apply, so they give no result at all (not a pass, not a skip)."""
    from posture.config import load_config

    config = load_config(FIXTURES / "controls" / "careless" / "posture.yaml")
    report = scan(ScanRequest(config=config, selection=Selection(only=("ACCESS-*-CONFIG",))))
    by_file: dict[str, set[str]] = {}
    for result in report.results:
        by_file.setdefault(Path(result.target).name, set()).add(result.check_id)
    assert by_file["sshd_config"] == {"ACCESS-SSHD-CONFIG"}
    assert by_file["nginx.conf"] == {"ACCESS-NGINX-CONFIG"}
    assert by_file["wg0.conf"] == by_file["client.ovpn"] == {"ACCESS-VPN-CONFIG"}
    assert not [r for r in report.results if r.status is Status.SKIPPED]


def test_errors_several_checks_share_become_one_and_check_failures_stay_their_own() -> None:
    from posture.model import Area, Result, Severity, Target, TargetKind
    from posture.plugin import CheckSpec
    from posture.runner import merge_shared_errors

    target = Target(TargetKind.STOREFRONT, "https://shop.example/")
    specs = [
        CheckSpec(
            cid, cid, Area.WEB, Severity.MEDIUM, TargetKind.STOREFRONT, "http", lambda f, c: []
        )
        for cid in ("WEB-A", "WEB-B", "WEB-C")
    ]

    def error(cid: str, message: str, resource: str | None = None) -> Result:
        return Result(cid, cid, Area.WEB, Severity.MEDIUM, Status.ERROR, target.name,
                      target.kind, message=message, resource=resource, key="checkout")  # fmt: skip

    page = "page checkout could not be fetched: refused"
    results = [
        error("WEB-A", page, "https://shop.example/checkout"),
        error("WEB-B", page, "https://shop.example/checkout"),
        error("WEB-A", "check failed: boom"),
        error("WEB-C", "check failed: boom"),
        error("WEB-C", page, "https://other.example/"),  # another resource: another cause
    ]
    merged = merge_shared_errors("http", target, specs, results)
    assert [(r.check_id, r.resource) for r in merged] == [
        ("COLLECT-HTTP", "https://shop.example/checkout"),
        ("WEB-A", None),
        ("WEB-C", None),
        ("WEB-C", "https://other.example/"),
    ]
    assert merged[0].evidence["blocked_checks"] == ["WEB-A", "WEB-B"]
    assert merged[0].key == "checkout" and "2 checks affected" in merged[0].message
