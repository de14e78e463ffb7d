"""The audit trail: a signed report never vouches for a scan digest nobody recomputed, and a
history database that fails never throws away a scan's outputs."""

from __future__ import annotations

import datetime as dt
import json
import socket
import sqlite3
from pathlib import Path

from .conftest import FIXTURES, RunCli
from .test_audit import history_of_three_scans

LOCAL = str(FIXTURES / "core" / "checks")


def rewrite_failures_to_passes(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, data FROM posture_results WHERE status = 'fail'").fetchall()
        for row_id, data in rows:
            doc = json.loads(data)
            doc["status"] = "pass"
            conn.execute(
                "UPDATE posture_results SET status = 'pass', data = ? WHERE id = ?",
                (json.dumps(doc), row_id),
            )
        conn.execute("UPDATE posture_findings SET last_status = 'pass'")
    return len(rows)


def test_rewritten_history_is_flagged_when_building_and_verifying(
    tmp_path: Path, run_cli: RunCli
) -> None:
    key = tmp_path / "auditor"
    assert run_cli("keygen", "-o", str(key)).returncode == 0
    db = tmp_path / "h.sqlite"
    history_of_three_scans(f"sqlite:///{db}")
    out = tmp_path / "q4.json"
    report = ["report", "--db", str(db), "--period", "2026-Q4", "--format", "json"]
    made = run_cli(*report, "-o", str(out), "--sign", str(key))
    assert made.returncode == 0, made.stderr
    ok = run_cli("verify", str(out), "--key", f"{key}.pub", "--db", str(db))
    assert ok.returncode == 0, ok.stderr
    assert "recomputed" in ok.stdout
    document = json.loads(out.read_text())
    assert all(e["digest_verified"] for e in document["evidence"])

    assert rewrite_failures_to_passes(db) > 0
    # the signed report no longer matches what the database holds
    bad = run_cli("verify", str(out), "--key", f"{key}.pub", "--db", str(db))
    assert bad.returncode == 1, bad.stdout
    assert "digest" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    # building a new report from the rewritten history flags it, and refuses to sign it
    again = tmp_path / "q4-again.json"
    refused = run_cli(*report, "-o", str(again), "--sign", str(key))
    assert refused.returncode == 1 and "digest" in refused.stderr
    assert not Path(f"{again}.sig").exists()
    unsigned = run_cli(*report, "-o", str(again))
    assert unsigned.returncode == 0, unsigned.stderr
    flagged = json.loads(again.read_text())
    assert not all(e["digest_verified"] for e in flagged["evidence"])
    assert flagged["integrity"]["mismatched_scans"]


def test_a_broken_database_is_found_before_the_scan(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "db-is-a-folder").mkdir()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    try:
        proc = run_cli(
            "scan",
            "--only",
            "WEB-HSTS",
            "--timeout",
            "2",
            "--target",
            f"https://127.0.0.1:{listener.getsockname()[1]}/",
            "--db",
            str(tmp_path / "db-is-a-folder"),
            "--output-dir",
            "out",
            "--format",
            "json",
        )
        try:
            listener.accept()[0].close()
            contacted = True
        except TimeoutError:
            contacted = False
    finally:
        listener.close()
    assert proc.returncode == 2, proc.stderr
    assert "history database" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr
    assert not contacted  # the storefront was never scanned: the database was checked first


def test_a_database_error_while_recording_keeps_the_outputs(
    tmp_path: Path, run_cli: RunCli
) -> None:
    db = tmp_path / "h.sqlite"
    base = ["scan", "--checks-dir", LOCAL, "--only", "TEST-FAILS", "--target", "https://a.example"]
    assert run_cli(*base, "--db", str(db), "--format", "json").returncode == 1
    with sqlite3.connect(db) as conn:  # the database accepts connections but refuses new scans
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON posture_scans "
            "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
        )
    proc = run_cli(*base, "--db", str(db), "--output-dir", "out", "--format", "json")
    assert proc.returncode == 2, proc.stderr
    assert "disk quota exceeded" in proc.stderr and "Traceback" not in proc.stderr
    document = json.loads((tmp_path / "out" / "posture.json").read_text())
    assert [r["check_id"] for r in document["results"]] == ["TEST-FAILS"]


def test_a_version_1_database_is_redigested_once_on_upgrade(tmp_path: Path) -> None:
    from posture.history import History

    db = tmp_path / "h.sqlite"
    history = history_of_three_scans(f"sqlite:///{db}")
    ids = [r.id for r in history.scans_between(None, _far())]
    with sqlite3.connect(db) as conn:  # as posture 0.1 left it: old-style digests, version 1
        conn.execute("UPDATE posture_scans SET digest = 'f' || substr(digest, 2)")
        conn.execute("DELETE FROM posture_schema_version WHERE version > 1")
    upgraded = History.open(f"sqlite:///{db}")
    digests = upgraded.recompute_digests(ids)
    assert digests and all(stored == again for stored, again in digests.values())


def _far() -> dt.datetime:
    return dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
