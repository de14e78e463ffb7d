"""Scan history and the quarterly report: real SQLite and PostgreSQL, real Chromium, pdftotext,
Ed25519 signatures, and OSCAL validated against the official schema."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from posture.history import History
from posture.model import Area, Result, Severity, Status, Target, TargetKind, Waiver
from posture.reporting.formats import CHROMIUM_FLAGS, chromium, to_html, to_oscal, write
from posture.reporting.model import Period, build_report
from posture.scanreport import ScanReport

from .conftest import REPO, RunCli
from .testbed.postgres import running_postgres

SHOP = "https://shop.example/"


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def result(
    check_id: str,
    status: Status,
    severity: Severity = Severity.HIGH,
    area: Area = Area.TLS,
    waiver: Waiver | None = None,
) -> Result:
    return Result(
        check_id,
        f"title of {check_id}",
        area,
        severity,
        status,
        SHOP,
        TargetKind.STOREFRONT,
        message=f"{check_id} {status.value}",
        waiver=waiver,
    )


def scan_at(started: str, results: list[Result]) -> ScanReport:
    start = when(started)
    checks = {r.check_id: r.area.value for r in results}
    return ScanReport(
        results,
        [Target(TargetKind.STOREFRONT, SHOP)],
        start,
        start + dt.timedelta(minutes=1),
        checks=checks,
    )


def history_of_three_scans(url: str) -> History:
    from posture.compliance import apply_obligations

    history = History.open(url)
    waiver = Waiver("legacy POS", "posture.yaml:9", "jane", "2026-12-20")
    for started, results in [
        (
            "2026-08-10T10:00:00",
            [
                result("TLS-LEGACY-PROTOCOL", Status.FAIL),
                result("WEB-HSTS", Status.PASS, Severity.MEDIUM, Area.WEB),
            ],
        ),
        (
            "2026-10-05T10:00:00",
            [
                result("TLS-LEGACY-PROTOCOL", Status.FAIL),
                result("WEB-HSTS", Status.FAIL, Severity.MEDIUM, Area.WEB),
            ],
        ),
        (
            "2026-11-16T10:00:00",
            [
                result("TLS-LEGACY-PROTOCOL", Status.PASS),
                result("WEB-HSTS", Status.WAIVED, Severity.MEDIUM, Area.WEB, waiver),
            ],
        ),
    ]:
        history.record(scan_at(started, apply_obligations(results)))
    return history


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'history.sqlite'}"


def test_findings_first_seen_and_resolved(sqlite_url: str) -> None:
    history = history_of_three_scans(sqlite_url)
    found = {f.check_id: f for f in history.findings()}
    legacy = found["TLS-LEGACY-PROTOCOL"]
    assert legacy.first_seen.replace(tzinfo=dt.UTC) == when("2026-08-10T10:00:00")
    assert legacy.resolved_at.replace(tzinfo=dt.UTC) == when("2026-11-16T10:00:00")
    hsts = found["WEB-HSTS"]
    assert hsts.first_seen.replace(tzinfo=dt.UTC) == when("2026-10-05T10:00:00")
    assert hsts.resolved_at is None and hsts.last_status == "waived"  # accepted, not fixed


def test_quarterly_report_content(sqlite_url: str) -> None:
    report = build_report(history_of_three_scans(sqlite_url), Period.parse("2026-Q4"))
    assert report["summary"]["scans_in_period"] == 2
    assert report["summary"]["scores"]["tls"] == 100.0  # TLS-LEGACY-PROTOCOL passes at the end
    assert report["summary"]["previous_scores"]["tls"] == 0.0
    weeks = [p["week"] for p in report["trend"]]
    assert weeks == ["2026-W33", "2026-W41", "2026-W47"]
    assert [p["scores"]["tls"] for p in report["trend"]] == [0.0, 0.0, 100.0]
    assert [f["check_id"] for f in report["findings"]["new"]] == ["WEB-HSTS"]
    resolved = report["findings"]["resolved"]
    assert [(f["check_id"], f["days_to_resolve"]) for f in resolved] == [
        ("TLS-LEGACY-PROTOCOL", 98)
    ]
    assert [w["check_id"] for w in report["waivers"]["expiring"]] == []
    assert [w["check_id"] for w in report["waivers"]["active"]] == []
    assert [w["check_id"] for w in report["waivers"]["expired"]] == [
        "WEB-HSTS"
    ]  # expires before 2027-01-01
    gdpr = next(m for m in report["matrices"] if m["id"] == "gdpr")
    row = next(r for r in gdpr["rows"] if r["id"] == "GDPR-32-1-a")
    # the TLS failure is fixed, but the HSTS failure is waived: an accepted risk, never "met"
    assert (row["previous_status"], row["status"], row["changed"]) == (
        "failing",
        "accepted risk",
        True,
    )
    assert [a["check_id"] for a in row["accepted_risks"]] == ["WEB-HSTS"]
    assert row["coverage"] == "partial" and row["evidence_sources"] == ["observed"]
    assert len(report["evidence"]) == 2 and all(len(e["digest"]) == 64 for e in report["evidence"])


def test_period_parsing() -> None:
    q1 = Period.parse("2027-q1")
    assert (q1.start.month, q1.end.month, q1.previous().name) == (1, 4, "2026-Q4")
    from posture.errors import UsageError

    with pytest.raises(UsageError):
        Period.parse("2026-Q5")


def _record_many(url: str, offset: int) -> None:
    history = History.open(url)
    for i in range(15):
        history.record(
            scan_at(
                f"2026-11-0{1 + offset}T10:{i:02d}:00", [result("TLS-LEGACY-PROTOCOL", Status.FAIL)]
            )
        )


def test_two_writers_at_once_both_land(sqlite_url: str) -> None:
    History.open(sqlite_url)
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_record_many, args=(sqlite_url, n)) for n in (0, 1)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    assert len(History.open(sqlite_url).scans_between(None, when("2030-01-01T00:00:00"))) == 30


def test_a_scan_that_dies_halfway_leaves_nothing(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = history_of_three_scans(sqlite_url)
    before = len(history.scans_between(None, when("2030-01-01T00:00:00")))

    def boom(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # as if killed between the scan row and its results

    monkeypatch.setattr(History, "_update_findings", boom)
    with pytest.raises(KeyboardInterrupt):
        history.record(scan_at("2026-12-01T10:00:00", [result("TLS-LEGACY-PROTOCOL", Status.FAIL)]))
    monkeypatch.undo()
    after = History.open(sqlite_url)
    assert len(after.scans_between(None, when("2030-01-01T00:00:00"))) == before
    with after.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_every_cli_scan_records_unless_told_not_to(tmp_path: Path, run_cli: RunCli) -> None:
    from .conftest import FIXTURES

    local = str(FIXTURES / "core" / "checks")
    db = tmp_path / "h.sqlite"
    base = [
        "scan",
        "--checks-dir",
        local,
        "--only",
        "TEST-OK",
        "--target",
        "https://a.example",
        "--db",
        str(db),
    ]
    assert run_cli(*base).returncode == 0
    assert run_cli(*base, "--no-record").returncode == 0
    assert len(History.open(str(db)).scans_between(None, when("2100-01-01T00:00:00"))) == 1


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("report")
    report = build_report(
        history_of_three_scans(f"sqlite:///{folder / 'h.sqlite'}"), Period.parse("2026-Q4")
    )
    paths = {}
    for fmt, ext in (("html", "html"), ("json", "json"), ("md", "md"), ("oscal", "oscal.json")):
        paths[fmt] = folder / f"report.{ext}"
        write(report, fmt, paths[fmt])
    return paths


def test_html_is_self_contained_and_clean_in_chromium(
    rendered: dict[str, Path], tmp_path: Path
) -> None:
    try:
        browser = chromium()
    except Exception:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    html = rendered["html"].read_text()
    assert "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )  # no CDN, nothing fetched
    assert "<script" not in html and "<svg" in html
    base = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*base, "--dump-dom", "--enable-logging=stderr", "--v=0", rendered["html"].as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    for section in (
        "summary",
        "trends",
        "obligations",
        "findings",
        "waivers",
        "vendors",
        "evidence",
    ):
        assert f'id="{section}"' in dom.stdout
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert console == []
    shot = tmp_path / "report.png"
    subprocess.run(
        [*base, "--window-size=1100,1400", f"--screenshot={shot}", rendered["html"].as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 10_000


def test_pdf_has_the_report_text(rendered: dict[str, Path], tmp_path: Path) -> None:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    try:
        chromium()
    except Exception:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    report = json.loads(rendered["json"].read_text())
    pdf = tmp_path / "report.pdf"
    write(report, "pdf", pdf)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    for heading in (
        "Security posture report: 2026-Q4",
        "Executive summary",
        "Obligation matrices",
        "Evidence appendix",
    ):
        assert heading in text


def test_oscal_validates_against_the_official_schema(rendered: dict[str, Path]) -> None:
    import jsonschema
    import regex  # OSCAL's patterns use \p{L}, which Python's re lacks
    from jsonschema import ValidationError

    def pattern(validator, patrn, instance, schema):  # type: ignore[no-untyped-def]
        if validator.is_type(instance, "string") and not regex.search(patrn, instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    validator_class = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": pattern})
    schema = json.loads(
        (REPO / "tests" / "schemas" / "oscal_assessment-results_schema-1.0.4.json").read_text()
    )
    document = json.loads(rendered["oscal"].read_text())
    errors = list(validator_class(schema).iter_errors(document))
    assert errors == []
    result = document["assessment-results"]["results"][0]
    findings = result["findings"]
    for f in findings:
        props = {p["name"]: p["value"] for p in f["props"]}
        # findings carry the status, coverage and evidence; only "met" is satisfied
        assert {"posture-status", "coverage", "evidence-sources", "source-checked"} <= set(props)
        assert (f["target"]["status"]["state"] == "satisfied") == (props["posture-status"] == "met")
    statuses = {p["value"] for f in findings for p in f["props"] if p["name"] == "posture-status"}
    assert {"accepted risk", "not assessed"} <= statuses
    # observations carry where their evidence came from
    for o in result["observations"]:
        sources = [p["value"] for p in o.get("props", []) if p["name"] == "evidence-source"]
        assert sources and sources[0] in ("observed", "declared", "attested")


def test_sign_verify_and_tamper(rendered: dict[str, Path], tmp_path: Path, run_cli: RunCli) -> None:
    key = tmp_path / "auditor"
    assert run_cli("keygen", "-o", str(key)).returncode == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert run_cli("keygen", "-o", str(key)).returncode == 2  # never overwrites a key
    db = tmp_path / "h.sqlite"
    history_of_three_scans(f"sqlite:///{db}")
    out = tmp_path / "q4.html"
    made = run_cli(
        "report", "--db", str(db), "--period", "2026-Q4", "-o", str(out), "--sign", str(key)
    )
    assert made.returncode == 0, made.stderr
    ok = run_cli("verify", str(out), "--key", f"{key}.pub")
    assert ok.returncode == 0 and "covers 2 scans" in ok.stdout
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x01  # one changed bit
    out.write_bytes(bytes(data))
    bad = run_cli("verify", str(out), "--key", f"{key}.pub")
    assert bad.returncode == 1 and "content changed" in bad.stderr
    data[len(data) // 2] ^= 0x01
    out.write_bytes(bytes(data))
    sig = Path(f"{out}.sig")
    envelope = json.loads(sig.read_text())
    envelope["manifest"]["scans"][0]["sha256"] = "0" * 64
    sig.write_text(json.dumps(envelope))
    forged = run_cli("verify", str(out), "--key", f"{key}.pub")
    assert forged.returncode == 1 and "signature does not match" in forged.stderr


def test_report_on_an_empty_period_is_a_clear_error(tmp_path: Path, run_cli: RunCli) -> None:
    proc = run_cli("report", "--db", str(tmp_path / "none.sqlite"), "--period", "2026-Q1")
    assert proc.returncode == 2 and "no scans recorded in 2026-Q1" in proc.stderr


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with running_postgres() as url:
        yield url


def test_postgresql_history_and_report(postgres: str) -> None:
    history = history_of_three_scans(postgres)
    report = build_report(history, Period.parse("2026-Q4"))
    assert report["summary"]["scans_in_period"] == 2
    assert [f["check_id"] for f in report["findings"]["resolved"]] == ["TLS-LEGACY-PROTOCOL"]
    assert "Executive summary" in to_html(report) and json.loads(to_oscal(report))
    started = time.monotonic()
    History.open(postgres)  # migrating an up-to-date database is a no-op
    assert time.monotonic() - started < 30


def _record_forever(url: str) -> None:
    history = History.open(url)
    results = [result(f"CHK-{i}", Status.FAIL) for i in range(2000)]
    for _ in range(10_000):
        history.record(scan_at("2026-11-01T10:00:00", results))


def test_a_scan_killed_with_sigkill_leaves_the_database_consistent(sqlite_url: str) -> None:
    import signal

    from sqlalchemy import func, select

    from posture.history.schema import results as results_table
    from posture.history.schema import scans as scans_table

    History.open(sqlite_url)
    ctx = multiprocessing.get_context("spawn")
    worker = ctx.Process(target=_record_forever, args=(sqlite_url,))
    worker.start()
    deadline = time.monotonic() + 60
    history = History.open(sqlite_url)
    while time.monotonic() < deadline and not history.scans_between(
        None, when("2100-01-01T00:00:00")
    ):
        time.sleep(0.05)  # poll: wait until at least one scan has landed
    os.kill(worker.pid or 0, signal.SIGKILL)  # mid-write, most likely
    worker.join(30)
    with history.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        counts = dict(
            conn.execute(
                select(results_table.c.scan_id, func.count()).group_by(results_table.c.scan_id)
            ).all()
        )
        declared = dict(conn.execute(select(scans_table.c.id, scans_table.c.result_count)).all())
    assert declared and counts == declared  # every scan complete, no partial one
    history.record(scan_at("2026-11-02T10:00:00", [result("CHK-0", Status.PASS)]))  # still writable


def test_report_reads_declarations_for_the_cybersecurity_audit_section(
    tmp_path: Path, run_cli: RunCli
) -> None:
    db = tmp_path / "h.sqlite"
    history_of_three_scans(f"sqlite:///{db}")
    config = tmp_path / "posture.yaml"
    config.write_text(
        "version: 1\ncontrols:\n  business:\n    annual_revenue_usd: 150000000\n"
        "    consumers: 260000\n    sensitive_data_consumers: 0\n"
        "    revenue_share_selling_sharing_percent: 0\n"
    )
    for fmt in ("json", "html", "md"):
        out = tmp_path / f"q4.{fmt}"
        made = run_cli(
            "report", "--db", str(db), "--period", "2026-Q4", "-c", str(config),
            "--format", fmt, "-o", str(out),
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
    data = json.loads((tmp_path / "q4.json").read_text())
    audit = next(m for m in data["matrices"] if m["id"] == "ccpa-cyber-audit")
    assert audit["applicability"]["applies"] is True
    assert audit["applicability"]["first_due"] == "2028-04-01"
    assert all(row["expected_checks"] for row in audit["rows"])
    html = (tmp_path / "q4.html").read_text()
    assert "CCPA cybersecurity audit readiness" in html and "2028-04-01" in html
    assert "accepted risk" in html and "coverage" in html.lower()
    md = (tmp_path / "q4.md").read_text()
    assert "first certification due 2028-04-01" in md and "| coverage |" in md
