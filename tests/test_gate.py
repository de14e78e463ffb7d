"""Deploy gate: SARIF (validated against the official schema), JUnit, Markdown, CSV, baselines,
waivers with expiry on a controllable clock, and the Action's shell steps run locally."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import yaml

from posture.config import load_config
from posture.engine import ScanRequest, scan
from posture.model import Area, Result, Severity, Status, TargetKind, Waiver
from posture.plugin import ScanOptions
from posture.policy import Policy
from posture.registry import load_registry
from posture.render import RenderContext, render
from posture.scanreport import ScanReport
from posture.waivers import apply_waivers

from .conftest import FIXTURES, REPO, RunCli

LOCAL = str(FIXTURES / "core" / "checks")
SARIF_SCHEMA = json.loads((REPO / "tests" / "schemas" / "sarif-schema-2.1.0.json").read_text())
TODAY = dt.date(2026, 11, 24)


def project(tmp_path: Path, waivers: str = "") -> Path:
    (tmp_path / "app.conf").write_text("user = shop\npassword = hunter2\n")
    (tmp_path / "posture.yaml").write_text(
        "version: 1\nstorefronts:\n  - url: https://shop.example/\nconfigs:\n  - path: app.conf\n"
        + waivers
    )
    return tmp_path / "posture.yaml"


def run_scan(config: Path, today: dt.date = TODAY, **kw: object) -> ScanReport:
    now = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
    request = ScanRequest(
        config=load_config(config),
        options=ScanOptions(now=now, check_timeout=1),
        registry=load_registry([LOCAL]),
        **kw,  # type: ignore[arg-type]
    )
    from posture.runner import Selection

    request.selection = Selection(only=("TEST-FAILS", "TEST-OK", "TEST-RAISES", "TEST-FILE-SECRET"))
    return scan(request)


def test_sarif_validates_and_locates_every_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    report = run_scan(project(tmp_path))
    document = json.loads(render(report, "sarif", RenderContext()))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(document)
    categories = [run["automationDetails"]["id"] for run in document["runs"]]
    assert categories == ["posture/config/", "posture/storefront/"]
    config_run, shop_run = document["runs"]
    secret = config_run["results"][0]
    location = secret["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "app.conf"
    assert location["region"] == {"startLine": 2, "endLine": 2}
    assert "hunter2" not in json.dumps(document)  # secrets masked in every output
    fails = shop_run["results"][0]
    assert fails["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "posture.yaml"
    assert fails["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert fails["partialFingerprints"]["postureFingerprint/v1"] == next(
        r.fingerprint for r in report.results if r.check_id == "TEST-FAILS"
    )
    rule = shop_run["tool"]["driver"]["rules"][fails["ruleIndex"]]
    assert rule["properties"]["security-severity"] == "8.0"
    assert "area:tls" in rule["properties"]["tags"] and "GDPR-32-1-a" in rule["properties"]["tags"]
    notes = shop_run["invocations"][0]["toolExecutionNotifications"]
    assert any("boom in check" in n["message"]["text"] for n in notes)


def test_junit_and_csv(tmp_path: Path) -> None:
    report = run_scan(project(tmp_path))
    root = ET.fromstring(render(report, "junit", RenderContext()))
    cases = root.findall(".//testcase")
    assert len(cases) == len(report.results)
    assert len(root.findall(".//failure")) == sum(r.status is Status.FAIL for r in report.results)
    assert len(root.findall(".//error")) == 1
    text = render(report, "csv", RenderContext())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["check_id"] for r in rows} >= {"TEST-FAILS", "TEST-FILE-SECRET"}
    assert "hunter2" not in text


def test_csv_neutralises_formulas() -> None:
    from posture.render.csv import safe

    assert safe('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert safe("@SUM(1)") == "'@SUM(1)" and safe("plain") == "plain"


def big_report(n: int) -> ScanReport:
    now = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    results = [
        Result(
            f"CHK-{i}",
            "a finding title that is long enough " * 2,
            Area.WEB,
            Severity.HIGH,
            Status.FAIL,
            f"https://shop{i}.example/",
            TargetKind.STOREFRONT,
            message="x" * 200,
        )
        for i in range(n)
    ]
    return ScanReport(results, [], now, now)


def test_markdown_fits_a_pull_request_comment() -> None:
    text = render(big_report(5000), "md", RenderContext())
    assert text.startswith("<!-- posture-report -->")
    assert len(text) <= 65_536
    assert "more findings are in the SARIF and JSON outputs" in text
    assert "**FAIL**: 5000 finding(s) at or above **high**" in text


def test_baseline_marks_existing_and_new_only_gates_new(tmp_path: Path, run_cli: RunCli) -> None:
    config = project(tmp_path)
    base = [
        "scan",
        "-c",
        str(config),
        "--checks-dir",
        LOCAL,
        "--only",
        "TEST-FAILS",
        "--only",
        "TEST-FILE-SECRET",
    ]
    assert run_cli(*base, "--format", "json", "-o", "first.json").returncode == 1
    made = run_cli("baseline", "create", "--from", "first.json", "-o", "baseline.json")
    assert made.returncode == 0 and "2 known findings" in made.stdout
    again = run_cli(*base, "--baseline", "baseline.json", "--new-only", "--format", "json")
    assert again.returncode == 0, again.stderr
    states = {
        r["check_id"]: r["baseline"]
        for r in json.loads(again.stdout)["results"]
        if r["status"] == "fail"
    }
    assert states == {"TEST-FAILS": "existing", "TEST-FILE-SECRET": "existing"}
    (tmp_path / "app.conf").write_text("user = shop\npassword = a\nother_password = b\n")
    newer = run_cli(*base, "--baseline", "baseline.json", "--new-only", "--format", "json")
    assert newer.returncode == 1
    new = [r for r in json.loads(newer.stdout)["results"] if r.get("baseline") == "new"]
    assert [r["key"] for r in new] == ["3"]
    assert run_cli(*base, "--new-only").returncode == 2


WAIVER = """waivers:
  - check: TEST-FAILS
    reason: accepted until the TLS upgrade
    approver: jane@shop.example
    expires: {expires}
"""


def test_waiver_applies_until_it_expires(tmp_path: Path) -> None:
    config = project(tmp_path, WAIVER.format(expires="2026-12-20"))
    report = run_scan(config)
    waived = [r for r in report.results if r.check_id == "TEST-FAILS"][0]
    assert waived.status is Status.WAIVED
    assert waived.waiver is not None and waived.waiver.reason == "accepted until the TLS upgrade"
    assert waived.waiver.source.endswith("posture.yaml:7")
    later = run_scan(config, today=dt.date(2026, 12, 21))
    assert [r.status for r in later.results if r.check_id == "TEST-FAILS"] == [Status.FAIL]
    assert any("expired on 2026-12-20" in w for w in later.warnings)


@pytest.mark.parametrize(
    ("waiver", "message", "line"),
    [
        (
            "waivers:\n  - check: TEST-FAILS\n    reason: because\n    approver: me\n",
            "no expiry date",
            7,
        ),
        (WAIVER.format(expires="2027-06-01"), "more than 90 days away", 7),
        (WAIVER.format(expires="soon"), "waiver expires", 10),
        (WAIVER.format(expires="2026-12-01") + "    colour: red\n", "unknown key", 11),
    ],
)
def test_bad_waivers_are_config_errors(
    tmp_path: Path, run_cli: RunCli, waiver: str, message: str, line: int
) -> None:
    config = project(tmp_path, waiver)
    proc = run_cli("scan", "-c", str(config), "--checks-dir", LOCAL, "--only", "TEST-OK")
    assert proc.returncode == 2, proc.stdout
    assert message in proc.stderr and f"posture.yaml:{line}:" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_inline_suppressions_need_a_central_waiver_when_policy_says_so() -> None:
    inline = Result(
        "CKV_AWS_19",
        "S3 encryption",
        Area.ENCRYPTION,
        Severity.HIGH,
        Status.WAIVED,
        "infra",
        TargetKind.IAC,
        waiver=Waiver("legacy bucket", "inline suppression (main.tf:3)"),
    )
    strict = Policy.load()  # the default: an inline comment alone waives nothing
    results, warnings = apply_waivers([inline], [], strict, TODAY)
    assert results[0].status is Status.FAIL and "no central waiver backs it" in warnings[0]
    relaxed = Policy(
        {
            **strict.as_dict(),
            "waivers": {
                "max_days": 90,
                "require_central_for_inline": False,
                "inline_max_severity": "high",
            },
        }
    )
    results, _ = apply_waivers([inline], [], relaxed, TODAY)
    assert results[0].status is Status.WAIVED
    capped = Policy(
        {
            **strict.as_dict(),
            "waivers": {"require_central_for_inline": False, "inline_max_severity": "medium"},
        }
    )
    results, warnings = apply_waivers([inline], [], capped, TODAY)
    assert results[0].status is Status.FAIL and "inline_max_severity" in warnings[0]


def action_steps() -> list[dict[str, object]]:
    document = yaml.safe_load((REPO / "action.yml").read_text())
    assert document["runs"]["using"] == "composite"
    assert set(document["inputs"]) >= {
        "config",
        "fail-on",
        "formats",
        "baseline",
        "new-only",
        "python-version",
    }
    return list(document["runs"]["steps"])


def test_action_scan_and_gate_steps_run_locally(tmp_path: Path) -> None:
    steps = {s.get("name"): s for s in action_steps()}
    config = project(tmp_path)
    (tmp_path / "checks").mkdir()
    env = {
        **os.environ,
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "INPUT_CONFIG": str(config),
        "INPUT_FAIL_ON": "high",
        "INPUT_FORMATS": "sarif, junit",
        "INPUT_BASELINE": "",
        "INPUT_NEW_ONLY": "false",
        "INPUT_WAIVERS": "",
        "GITHUB_ACTION_PATH": str(REPO),
        "RUNNER_TEMP": str(tmp_path),
        "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}",
    }
    # the Action's scan step runs the installed posture; point it at the test checks only
    scan_script = str(steps["Scan"]["run"]).replace(
        'posture "${args[@]}"', f'posture "${{args[@]}}" --checks-dir {LOCAL} --only TEST-FAILS'
    )
    subprocess.run(["bash", "-c", scan_script], env=env, cwd=tmp_path, check=True, timeout=300)
    outputs = dict(line.split("=", 1) for line in (tmp_path / "output").read_text().splitlines())
    assert outputs["exit-code"] == "1" and outputs["high"] == "1" and outputs["critical"] == "0"
    assert (
        Path(outputs["sarif"]).is_file() and (Path(outputs["dir"]) / "posture.junit.xml").is_file()
    )
    assert (tmp_path / "summary").read_text().startswith("<!-- posture-report -->")
    gate = subprocess.run(
        ["bash", "-c", str(steps["Gate"]["run"])],
        env={**env, "CODE": outputs["exit-code"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert gate.returncode == 1 and "::error::posture exited 1" in gate.stdout
    ok = subprocess.run(
        ["bash", "-c", str(steps["Gate"]["run"])],
        env={**env, "CODE": "0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0
