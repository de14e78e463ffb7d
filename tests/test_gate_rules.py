"""A deploy gate that cannot be talked round: baselines never hide an expired waiver or a severity
rise, inline suppressions need a central waiver for what matters, a check with nothing to look at
is skipped (never a pass), and the verdict line always says what the exit code says."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

from posture.baseline import baseline_document
from posture.commands._scanning import exit_code
from posture.config import load_config
from posture.engine import ScanRequest, scan
from posture.model import Severity, Status
from posture.plugin import ScanOptions
from posture.registry import load_registry
from posture.render import RenderContext, render
from posture.runner import Selection
from posture.scanreport import ScanReport

from .conftest import FIXTURES, RunCli

LOCAL = str(FIXTURES / "core" / "checks")

WAIVER = """waivers:
  - check: TEST-FAILS
    reason: accepted until the TLS upgrade
    approver: jane@shop.example
    expires: 2026-12-20
"""


def project(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "app.conf").write_text("user = shop\n")
    (tmp_path / "posture.yaml").write_text(
        "version: 1\nstorefronts:\n  - url: https://shop.example/\nconfigs:\n  - path: app.conf\n"
        + extra
    )
    return tmp_path / "posture.yaml"


def run_scan(config: Path, today: dt.date, baseline: Path | None = None) -> ScanReport:
    request = ScanRequest(
        config=load_config(config),
        options=ScanOptions(now=dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)),
        registry=load_registry([LOCAL]),
        baseline=str(baseline) if baseline else None,
    )
    request.selection = Selection(only=("TEST-FAILS",))
    return scan(request)


def verdict(report: ScanReport, fail_on: Severity, new_only: bool) -> str:
    text = render(report, "md", RenderContext(fail_on, new_only=new_only))
    return next(line for line in text.splitlines() if line.startswith("**"))


def test_a_baseline_never_turns_an_expired_waiver_into_a_permanent_one(tmp_path: Path) -> None:
    config = project(tmp_path, WAIVER)
    first = run_scan(config, dt.date(2026, 11, 24))
    assert [r.status for r in first.results] == [Status.WAIVED]
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(baseline_document(first)))
    # while the waiver holds: waived, nothing blocks
    during = run_scan(config, dt.date(2026, 12, 1), baseline)
    assert exit_code(during, Severity.HIGH, new_only=True) == 0
    # the waiver expired: the critical failure blocks, and the verdict line says so
    after = run_scan(config, dt.date(2026, 12, 21), baseline)
    [result] = after.results
    assert result.status is Status.FAIL and result.baseline == "new"
    assert exit_code(after, Severity.HIGH, new_only=True) == 1
    assert verdict(after, Severity.HIGH, new_only=True).startswith("**FAIL**")


SEVERITY_CHECK = """
from posture import Area, Outcome, Severity, TargetKind, check, collector


@collector(name="expiry", target=TargetKind.CONFIG)
def expiry(target, ctx):
    with open(target.options["abs_path"], encoding="utf-8") as handle:
        return handle.read().strip()


@check(id="TEST-CERT-EXPIRY", title="certificate expires soon", area=Area.TLS,
       severity=Severity.MEDIUM, target=TargetKind.CONFIG, facts="expiry")
def cert_expiry(facts, ctx):
    days = int(facts)
    severity = Severity.HIGH if days < 7 else Severity.MEDIUM
    yield Outcome.fail(f"certificate expires in {days} days", severity=severity, key="cert")
"""


def test_a_severity_rise_is_new_and_the_verdict_agrees_with_the_exit_code(
    tmp_path: Path, run_cli: RunCli
) -> None:
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "expiry_checks.py").write_text(SEVERITY_CHECK)
    (tmp_path / "cert.days").write_text("20\n")
    (tmp_path / "posture.yaml").write_text(
        "version: 1\nconfigs:\n  - path: cert.days\n    kind: x\n"
    )
    base = ["scan", "-c", "posture.yaml", "--checks-dir", str(checks), "--only", "TEST-CERT-EXPIRY"]
    first = run_cli(*base, "--fail-on", "medium", "--format", "json", "-o", "first.json")
    assert first.returncode == 1, first.stderr
    assert run_cli("baseline", "create", "--from", "first.json", "-o", "b.json").returncode == 0
    gate = [*base, "--baseline", "b.json", "--new-only", "--output-dir", "out"]
    gate += ["--format", "json", "--format", "md"]
    # unchanged and known: no block, and the verdict line says PASS
    same = run_cli(*gate, "--fail-on", "high")
    assert same.returncode == 0, same.stderr
    md = (tmp_path / "out" / "posture.md").read_text()
    assert "**PASS**" in md and "**FAIL**" not in md
    # 3 days left: high now, above the baselined medium and across --fail-on high
    (tmp_path / "cert.days").write_text("3\n")
    rose = run_cli(*gate, "--fail-on", "high")
    assert rose.returncode == 1, rose.stdout
    [result] = json.loads((tmp_path / "out" / "posture.json").read_text())["results"]
    assert result["severity"] == "high" and result["baseline"] == "new"
    assert (
        "**FAIL**: 1 finding(s) at or above **high**"
        in (tmp_path / "out" / "posture.md").read_text()
    )
    assert "FAIL: 1" in rose.stdout  # the terminal verdict too


def test_inline_skip_does_not_waive_a_critical_finding_without_a_central_waiver(
    tmp_path: Path,
) -> None:
    iac = tmp_path / "infra"
    iac.mkdir()
    (iac / "main.tf").write_text(
        textwrap.dedent(
            """\
            resource "aws_db_instance" "orders" {
              # checkov:skip=CKV_AWS_17:nobody will find it
              identifier          = "orders"
              engine              = "postgres"
              instance_class      = "db.t3.micro"
              allocated_storage   = 20
              publicly_accessible = true
            }
            """
        )
    )
    (tmp_path / "posture.yaml").write_text("version: 1\niac:\n  - path: infra\n")
    request = ScanRequest(
        config=load_config(tmp_path / "posture.yaml"), selection=Selection(only=("IAC-CHECKOV",))
    )
    report = scan(request)
    [public] = [r for r in report.results if r.check_id == "CKV_AWS_17"]
    assert public.severity is Severity.CRITICAL
    assert public.status is Status.FAIL
    assert any("no central waiver backs it" in w for w in report.warnings)
    # a central waiver with an approver and an expiry does waive it
    (tmp_path / "posture.yaml").write_text(
        "version: 1\niac:\n  - path: infra\nwaivers:\n  - check: CKV_AWS_17\n"
        "    reason: replica for the BI tool, behind a VPC\n    approver: cso@shop.example\n"
        f"    expires: {(dt.date.today() + dt.timedelta(days=30)).isoformat()}\n"
    )
    request.config = load_config(tmp_path / "posture.yaml")
    [public] = [r for r in scan(request).results if r.check_id == "CKV_AWS_17"]
    assert public.status is Status.WAIVED and public.waiver is not None
    assert public.waiver.approver == "cso@shop.example"


def test_a_check_with_nothing_to_look_at_is_skipped_never_passed(tmp_path: Path) -> None:
    (tmp_path / "iac").mkdir()
    (tmp_path / "posture.yaml").write_text(
        textwrap.dedent(
            """\
            version: 1
            storefronts:
              - url: https://127.0.0.1:9/
            iac:
              - path: iac
            controls:
              vendors: []
              data_stores: []
              access:
                mfa_admins: true
            """
        )
    )
    request = ScanRequest(
        config=load_config(tmp_path / "posture.yaml"),
        options=ScanOptions(timeout=2),
        selection=Selection(skip=("tls", "web", "PRIV-OPT-OUT", "PRIV-POLICY-CONTENT")),
    )
    report = scan(request)
    by_check: dict[str, list[Status]] = {}
    for r in report.results:
        by_check.setdefault(r.check_id, []).append(r.status)
        if r.status is Status.SKIPPED:
            assert r.message, r.check_id  # every skip says why
    nothing = [
        "VENDOR-CONTRACTS",  # vendors: []
        "BACKUP-SEPARATION",  # data_stores: []
        "BACKUP-RESTORE-TEST",
        "ENC-DATASTORE-AT-REST",
        "IAC-RDS-BACKUP-RETENTION",  # no IaC scanned
        "IAC-UNREADABLE-FILE",
        "PRIV-TRACKING-WITHOUT-OPT-OUT",  # the storefront never answered
        "ENC-DECLARED-VS-IAC",
        "BACKUP-DECLARED-VS-IAC",
    ]
    for check_id in nothing:
        assert by_check.get(check_id) == [Status.SKIPPED], (check_id, by_check.get(check_id))
    # a check that looked at something and found nothing wrong still passes
    assert by_check["PAY-CARD-DATA-IN-REPO"] == [Status.PASS]
    skipped = {r.message for r in report.results if r.check_id == "VENDOR-CONTRACTS"}
    assert any("vendor" in m for m in skipped)
    # a check that does not apply to a target yields no result at all: no storefront facts
    # for the controls target, no IaC rule on the storefront
    assert not [r for r in report.results if r.area.value == "tls"]


def test_a_posture_yaml_that_relaxes_the_waiver_policy_is_called_out(tmp_path: Path) -> None:
    config = project(
        tmp_path,
        "policy:\n  overrides:\n    waivers:\n      require_central_for_inline: false\n",
    )
    report = run_scan(config, dt.date(2026, 11, 24))
    [warning] = [w for w in report.warnings if "waiver policy" in w]
    assert "posture.yaml:9" in warning and "require_central_for_inline" in warning
    assert "require_central_for_inline" in render(report, "md", RenderContext())
