"""Scanning an estate: shards, targets files, runs in the history, merging shard outputs.

The acceptance tests run 100 storefronts on one loopback nginx (tests/testbed/estate.py) against
a real PostgreSQL: four shard processes at once give exactly the unsharded results; a shard
killed with SIGKILL leaves its run incomplete in the report; re-running it completes the run
without duplicates.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from posture.errors import UsageError
from posture.history import History
from posture.history.schema import SCHEMA_VERSION
from posture.model import Target, TargetKind
from posture.shard import Shard, jump_hash, run_id_from, select, shard_from, shard_of
from posture.targets_file import read_targets_file

from .conftest import REPO, RunCli
from .testbed.estate import Estate, build_estate
from .testbed.postgres import running_postgres

ESTATE_SIZE = 100


def shop(url: str) -> Target:
    return Target(TargetKind.STOREFRONT, url)


# --- the partition ----------------------------------------------------------------------------


def test_shards_partition_every_target_exactly_once() -> None:
    targets = [shop(f"https://shop{i}.example/") for i in range(1000)]
    targets.append(Target(TargetKind.IAC, "infra/"))
    targets.append(Target(TargetKind.CONTROLS, "controls"))
    shares = [select(targets, Shard(k, 4)) for k in range(1, 5)]
    assert sorted(t.name for share in shares for t in share) == sorted(t.name for t in targets)
    assert all(200 <= len(share) <= 300 for share in shares), [len(s) for s in shares]
    # non-storefront targets stay with the cross-target checks, on shard 1
    assert {t.name for t in shares[0] if t.kind is not TargetKind.STOREFRONT} == {
        "infra/",
        "controls",
    }


def test_adding_storefronts_moves_no_other_and_growing_n_moves_few() -> None:
    old = [shop(f"https://shop{i}.example/") for i in range(2000)]
    new = old + [shop(f"https://new{i}.example/") for i in range(500)]
    before = {t.name: shard_of(t, 8) for t in old}
    after = {t.name: shard_of(t, 8) for t in new}
    assert all(after[name] == shard for name, shard in before.items())
    moved = sum(shard_of(t, 9) != shard_of(t, 8) for t in old)
    assert moved < len(old) * 0.2  # ~1/9 move, where hash mod N would move ~8/9
    assert all(shard_of(t, 9) == 9 for t in old if shard_of(t, 9) != shard_of(t, 8))


def test_identity_folds_case_and_default_path() -> None:
    assert shard_of(shop("https://Shop.Example"), 16) == shard_of(shop("https://shop.example/"), 16)
    assert jump_hash(12345, 1) == 0


def test_shard_from_flags_and_kubernetes_environment() -> None:
    assert shard_from("2/4", None, {}) == Shard(2, 4)
    assert shard_from(None, None, {}) is None
    assert shard_from(None, None, {"JOB_COMPLETION_INDEX": "3"}) is None  # no count: no split
    assert shard_from(None, 5, {"JOB_COMPLETION_INDEX": "0"}) == Shard(1, 5)
    env = {"JOB_COMPLETION_INDEX": "4", "POSTURE_SHARD_COUNT": "5"}
    assert shard_from(None, None, env) == Shard(5, 5)
    assert shard_from(None, None, {"POSTURE_SHARD": "1/2"}) == Shard(1, 2)
    for value, count, env in [
        ("5/4", None, {}),
        ("0/4", None, {}),
        ("x", None, {}),
        ("1/2", 2, {}),
        (None, 4, {}),
        (None, 4, {"JOB_COMPLETION_INDEX": "4"}),
        (None, None, {"JOB_COMPLETION_INDEX": "0", "POSTURE_SHARD_COUNT": "many"}),
    ]:
        with pytest.raises(UsageError):
            shard_from(value, count, env)


def test_run_id_from_ci_and_kubernetes() -> None:
    assert run_id_from("nightly-42", {}) == "nightly-42"
    gh = {"GITHUB_RUN_ID": "991", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_REPOSITORY": "acme/shops"}
    assert run_id_from(None, gh) == "github:acme/shops:991"  # the attempt joins the same run
    assert run_id_from(None, {"POSTURE_JOB_NAME": "posture-estate-29"}) == "k8s:posture-estate-29"
    assert run_id_from(None, {}) is None
    with pytest.raises(UsageError):
        run_id_from("bad id; drop table", {})


# --- targets files ----------------------------------------------------------------------------


def test_targets_file_plain_and_csv(tmp_path: Path) -> None:
    plain = tmp_path / "shops.txt"
    plain.write_text("# estate\nhttps://a.example/\n\n  https://b.example:8443/x\n")
    assert [t.name for t in read_targets_file(plain)] == [
        "https://a.example/",
        "https://b.example:8443/x",
    ]
    table = tmp_path / "shops.csv"
    table.write_text(
        "name,url,profile,pages\n"
        'de,https://de.example/,modern,"checkout=/kasse;login=/konto"\n'
        "fr,https://fr.example/,,\n"
    )
    de, fr = read_targets_file(table)
    assert de.options["name"] == "de" and de.options["tls_profile"] == "modern"
    assert de.options["pages"] == {"checkout": "/kasse", "login": "/konto"}
    assert de.declared_at is not None and de.declared_at.start_line == 2
    assert fr.options["tls_profile"] is None and fr.options["pages"] == {}


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("https://a.example/\nftp://b.example/\n", 2, "not an http(s) URL"),
        ("https://a.example/ https://b.example/\n", 1, "one URL a line"),
        ("name,url,owner\nx,https://a.example/,me\n", 1, "unknown column 'owner'"),
        ("name,url\nx\n", 2, "1 fields, the header has 2"),
        ("url,pages\nhttps://a.example/,checkout\n", 2, "not NAME=PATH"),
    ],
)
def test_bad_targets_file_is_one_line_naming_file_and_line(
    tmp_path: Path, run_cli: RunCli, content: str, line: int, message: str
) -> None:
    path = tmp_path / "targets.txt"
    path.write_text(content)
    proc = run_cli("scan", "--targets-file", str(path), "--no-record", "--no-browser")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert f"{path}:{line}:" in proc.stderr and message in proc.stderr


def test_targets_file_too_large_or_missing(tmp_path: Path, run_cli: RunCli) -> None:
    proc = run_cli("scan", "--targets-file", str(tmp_path / "none.txt"), "--no-record")
    assert proc.returncode == 2 and "none.txt" in proc.stderr
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:
        handle.truncate(33 * 1024 * 1024)
    proc = run_cli("scan", "--targets-file", str(big), "--no-record")
    assert proc.returncode == 2 and "larger than 32 MiB" in proc.stderr


def test_shard_without_run_id_is_a_usage_error(tmp_path: Path, run_cli: RunCli) -> None:
    proc = run_cli("scan", "--target", "https://127.0.0.1:9/", "--shard", "1/2")
    assert proc.returncode == 2 and "--run-id" in proc.stderr


# --- the history schema -----------------------------------------------------------------------


def test_version_1_database_migrates_and_keeps_its_scans(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v1.sqlite'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in (
            "CREATE TABLE posture_schema_version (version INTEGER PRIMARY KEY)",
            "INSERT INTO posture_schema_version VALUES (1)",
            "CREATE TABLE posture_scans (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at DATETIME"
            " NOT NULL, finished_at DATETIME NOT NULL, tool_version VARCHAR(40) NOT NULL, policy"
            " VARCHAR(100) NOT NULL, config TEXT, targets JSON NOT NULL, checks JSON NOT NULL,"
            " result_count INTEGER NOT NULL, digest VARCHAR(64) NOT NULL)",
            "CREATE TABLE posture_results (id INTEGER PRIMARY KEY AUTOINCREMENT, scan_id INTEGER"
            " NOT NULL REFERENCES posture_scans(id) ON DELETE CASCADE, fingerprint VARCHAR(32) NOT"
            " NULL, check_id VARCHAR(200) NOT NULL, title TEXT NOT NULL, area VARCHAR(20) NOT"
            " NULL, severity VARCHAR(10) NOT NULL, status VARCHAR(10) NOT NULL, target TEXT NOT"
            " NULL, target_kind VARCHAR(20) NOT NULL, resource TEXT, data JSON NOT NULL)",
            "CREATE TABLE posture_findings (fingerprint VARCHAR(32) PRIMARY KEY, check_id"
            " VARCHAR(200) NOT NULL, target TEXT NOT NULL, first_seen DATETIME NOT NULL, last_seen"
            " DATETIME NOT NULL, resolved_at DATETIME, last_status VARCHAR(10) NOT NULL)",
            "INSERT INTO posture_scans (started_at, finished_at, tool_version, policy, targets,"
            " checks, result_count, digest) VALUES ('2026-10-01 10:00:00', '2026-10-01 10:01:00',"
            " '0.1.0', 'default', '[]', '{}', 0, 'x')",
        ):
            conn.execute(text(statement))
    engine.dispose()
    history = History.open(url)
    with history.engine.connect() as conn:
        assert (
            conn.execute(text("SELECT MAX(version) FROM posture_schema_version")).scalar()
            == SCHEMA_VERSION
        )
    (old,) = history.scans_between(None, dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert old.run_id is None and history.latest_run() is None
    assert SCHEMA_VERSION == 3  # 2: runs and shards; 3: digests of the scan as stored


# --- the estate: 100 storefronts, real PostgreSQL ---------------------------------------------


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    built = build_estate(tmp_path_factory.mktemp("estate"), ESTATE_SIZE)
    try:
        yield built
    finally:
        built.stop()


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with running_postgres() as url:
        yield url


def _posture(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    for name in ("GITHUB_RUN_ID", "POSTURE_RUN_ID", "POSTURE_SHARD", "JOB_COMPLETION_INDEX"):
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-m", "posture", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def _scan_args(estate: Estate, targets: Path, *more: str) -> list[str]:
    return [
        "scan",
        "--targets-file",
        str(targets),
        "--ca-bundle",
        str(estate.ca_path),
        "--timeout",
        "20",
        "--no-browser",  # TLS + HTTP: the estate's browser visits are not what is tested here
        "-f",
        "json",
        *more,
    ]


def _outcomes(document: dict[str, Any]) -> dict[str, str]:
    return {r["fingerprint"]: r["status"] for r in document["results"]}


def _run_results(url: str, run_id: str) -> list[tuple[str, str]]:
    history = History.open(url)
    status = history.run_status(run_id)
    assert status is not None
    loaded = history.results_of(status.scan_ids)
    return [(r.fingerprint, r.status.value) for rs in loaded.values() for r in rs]


@pytest.mark.slow
def test_estate_four_shards_kill_and_rerun(
    estate: Estate, postgres: str, tmp_path: Path, run_cli: RunCli
) -> None:
    targets = estate.write_targets_file(tmp_path / "targets.txt")
    whole = _posture(*_scan_args(estate, targets, "--no-record", "-o", "whole.json"), cwd=tmp_path)
    code, err = _finish(whole)
    assert code in (0, 1), err
    expected = _outcomes(json.loads((tmp_path / "whole.json").read_text()))
    assert len({r.split("/")[2] for r in estate.urls}) == ESTATE_SIZE
    assert sum(1 for s in expected.values() if s == "error") == 0

    # four shard processes at once, recording into one PostgreSQL
    shards = [
        _posture(
            *_scan_args(estate, targets, "--db", postgres, "--run-id", "four", "--shard", f"{k}/4"),
            "-o",
            f"shard{k}.json",
            cwd=tmp_path,
        )
        for k in range(1, 5)
    ]
    for proc in shards:
        code, err = _finish(proc)
        assert code in (0, 1), err
    documents = [json.loads((tmp_path / f"shard{k}.json").read_text()) for k in range(1, 5)]
    assert all(len(d["targets"]) > 10 for d in documents)
    merged: dict[str, str] = {}
    for document in documents:
        outcomes = _outcomes(document)
        assert not set(outcomes) & set(merged), "two shards produced the same result"
        merged.update(outcomes)
    assert merged == expected
    in_db = _run_results(postgres, "four")
    assert len(in_db) == len(expected) and dict(in_db) == expected
    report = run_cli("report", "--db", postgres, "--period", _quarter(), "--format", "json")
    assert report.returncode == 0, report.stderr

    # a run whose shard 3 is killed (SIGKILL) while it scans
    killed = [
        _posture(
            *_scan_args(estate, targets, "--db", postgres, "--run-id", "kill", "--shard", f"{k}/4"),
            "-o",
            f"kill{k}.json",
            cwd=tmp_path,
        )
        for k in range(1, 5)
    ]
    history = History.open(postgres)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = history.run_status("kill")
        if status is not None and status.shards[2].state == "running":
            break
        time.sleep(0.05)
    else:
        pytest.fail("shard 3 never marked itself running")
    killed[2].send_signal(signal.SIGKILL)
    for proc in killed:
        _finish(proc)
    assert killed[2].returncode == -signal.SIGKILL
    status = history.run_status("kill")
    assert status is not None and not status.complete
    assert [s.state for s in status.shards] == ["completed", "completed", "running", "completed"]

    out = tmp_path / "report.json"
    report = run_cli(
        "report", "--db", postgres, "--period", _quarter(), "--format", "json", "-o", str(out)
    )
    assert report.returncode == 3
    assert "incomplete run kill (3 of 4 shards completed)" in report.stderr
    assert "shard 3/4 started at" in report.stderr and "never finished" in report.stderr
    data = json.loads(out.read_text())
    assert [r["run_id"] for r in data["incomplete_runs"]] == ["kill"]
    matrix = run_cli("compliance", "--from-db", "--db", postgres, "--format", "json")
    assert matrix.returncode in (1, 3) and "run kill is incomplete" in matrix.stderr
    assert json.loads(matrix.stdout)["run"]["complete"] is False

    # re-running shard 3 completes the run; re-running shard 2 again changes nothing
    for k in (3, 2):
        again = _posture(
            *_scan_args(estate, targets, "--db", postgres, "--run-id", "kill", "--shard", f"{k}/4"),
            "-o",
            f"again{k}.json",
            cwd=tmp_path,
        )
        code, err = _finish(again)
        assert code in (0, 1), err
    status = history.run_status("kill")
    assert status is not None and status.complete
    rows = _run_results(postgres, "kill")
    assert len(rows) == len(set(rows)) == len(expected) and dict(rows) == expected
    report = run_cli(
        "report",
        "--db",
        postgres,
        "--period",
        _quarter(),
        "--format",
        "md",
        "-o",
        str(tmp_path / "r.md"),
    )
    assert report.returncode == 0, report.stderr
    assert "Incomplete" not in (tmp_path / "r.md").read_text()
    matrix = run_cli(
        "compliance", "--from-db", "--db", postgres, "--run-id", "kill", "--format", "json"
    )
    assert matrix.returncode in (0, 1) and json.loads(matrix.stdout)["run"]["complete"] is True

    # the shards' outputs merge into one SARIF and one JSON equal to the unsharded scan
    merged_json = tmp_path / "merged.json"
    merge = run_cli(
        "merge",
        *[str(tmp_path / f"shard{k}.json") for k in range(1, 5)],
        "-f",
        "json",
        "-o",
        str(merged_json),
    )
    assert merge.returncode in (0, 1), merge.stderr
    assert _outcomes(json.loads(merged_json.read_text())) == expected
    partial = run_cli(
        "merge", *[str(tmp_path / f"shard{k}.json") for k in (1, 2, 4)], "-f", "sarif"
    )
    assert partial.returncode == 3 and "shard 3/4 is missing" in partial.stderr


def _quarter() -> str:
    now = dt.datetime.now(dt.UTC)
    return f"{now.year}-Q{(now.month - 1) // 3 + 1}"


DEPLOY = REPO / "docs" / "deploy"


def _posture_parser() -> Any:
    from posture.cli import build_parser

    return build_parser()


def test_kubernetes_manifest_is_valid_and_wired_for_shards(tmp_path: Path) -> None:
    import kubernetes_validate
    import yaml

    documents = list(yaml.safe_load_all((DEPLOY / "kubernetes-indexed-job.yaml").read_text()))
    for document in documents:
        # strict: an unknown or misspelt field is an error, as the API server would reject it
        kubernetes_validate.validate(document, "1.33", strict=True)
    config_map, job = documents
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["parallelism"] == spec["completions"]
    (container,) = spec["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert int(env["POSTURE_SHARD_COUNT"]["value"]) == spec["completions"]
    assert env["POSTURE_DB"]["valueFrom"]["secretKeyRef"] == {"name": "posture-db", "key": "url"}
    label = env["POSTURE_JOB_NAME"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert label == "metadata.labels['batch.kubernetes.io/job-name']"
    args = _manifest_posture_args(container)
    parsed = _posture_parser().parse_args(args)
    assert parsed.command == "scan" and parsed.targets_file == "/etc/posture/targets.csv"
    (tmp_path / "targets.csv").write_text(config_map["data"]["targets.csv"])
    targets = read_targets_file(tmp_path / "targets.csv")
    assert len(targets) == 4 and targets[0].options["pages"]["checkout"] == "/kasse"


def _manifest_posture_args(container: dict[str, Any]) -> list[str]:
    import shlex

    command = container["args"][0]
    return shlex.split(command.split("exec python -m posture ", 1)[1])


def test_github_workflow_is_valid_and_its_commands_parse() -> None:
    import re
    import shlex
    from importlib import resources

    import jsonschema
    import yaml

    text_ = (DEPLOY / "github-actions-estate.yml").read_text()
    workflow = yaml.safe_load(text_)
    schema = json.loads(
        resources.files("check_jsonschema")
        .joinpath("builtin_schemas/vendor/github-workflows.json")
        .read_text("utf-8")
    )
    # YAML 1.1 reads the key "on" as True; GitHub reads it as "on"
    workflow["on"] = workflow.pop(True)
    jsonschema.validate(workflow, schema)
    scan, merge = workflow["jobs"]["scan"], workflow["jobs"]["merge"]
    shards = scan["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1)) and scan["strategy"]["fail-fast"] is False
    assert merge["needs"] == "scan" and merge["if"] == "always()"
    commands = []
    for job in (scan, merge):
        for step in job["steps"]:
            script = step.get("run", "").replace("\\\n", " ")
            for line in script.splitlines():
                line = re.sub(r"\$\{\{[^}]*\}\}", "1", line).strip()
                if line.startswith("posture "):
                    commands.append(shlex.split(line.split("||")[0].split(">>")[0])[1:])
    assert [c[0] for c in commands] == ["scan", "merge", "compliance"]
    parser = _posture_parser()
    for args in commands:
        parser.parse_args(args)  # exits 2 on an unknown option


@pytest.mark.slow
def test_kubernetes_job_command_runs_as_written(
    estate: Estate, postgres: str, tmp_path: Path
) -> None:
    """The manifest's own command, with the environment Kubernetes gives each pod."""
    import yaml

    config_map, job = yaml.safe_load_all((DEPLOY / "kubernetes-indexed-job.yaml").read_text())
    (container,) = job["spec"]["template"]["spec"]["containers"]
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "posture.yaml").write_text(config_map["data"]["posture.yaml"])
    rows = [f"shop{i},{url},intermediate,checkout=/" for i, url in enumerate(estate.urls[:8])]
    (etc / "targets.csv").write_text("name,url,profile,pages\n" + "\n".join(rows) + "\n")
    args = [a.replace("/etc/posture", str(etc)) for a in _manifest_posture_args(container)]
    count = int(job["spec"]["completions"])
    procs = []
    for index in range(count):
        env = {
            **os.environ,
            "JOB_COMPLETION_INDEX": str(index),
            "POSTURE_SHARD_COUNT": str(count),
            "POSTURE_JOB_NAME": job["metadata"]["name"],
            "POSTURE_DB": postgres,
        }
        out = tmp_path / f"pod{index}.json"
        argv = [a.replace("/tmp/posture.json", str(out)) for a in args]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "posture", *argv, "--ca-bundle", str(estate.ca_path)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        code, err = _finish(proc)
        assert code in (0, 1), err
    status = History.open(postgres).run_status(f"k8s:{job['metadata']['name']}")
    assert status is not None and status.complete and status.count == count
    scanned = [
        t["name"]
        for i in range(count)
        for t in json.loads((tmp_path / f"pod{i}.json").read_text())["targets"]
        if t["kind"] == "storefront"
    ]
    assert sorted(scanned) == sorted(estate.urls[:8])


# --- estate-wide progress ---------------------------------------------------------------------


@pytest.mark.slow
def test_progress_counts_targets_done_and_errors(estate: Estate) -> None:
    from posture.engine import ScanRequest, scan
    from posture.plugin import ScanOptions

    events: list[tuple[str, str, str]] = []
    dead = "https://127.0.0.1:9/"  # discard port: nothing listens
    request = ScanRequest(
        urls=[*estate.urls[:5], dead],
        options=ScanOptions(ca_bundle=str(estate.ca_path), timeout=5),
        progress=lambda event, target, detail: events.append((event, target.name, detail)),
    )
    scan(request)
    plan = [d for e, _, d in events if e == "plan-targets"]
    done = {name: int(d) for e, name, d in events if e == "target-done"}
    assert plan == ["6"] and set(done) == {*estate.urls[:5], dead}
    assert done[dead] > 0 and all(done[u] == 0 for u in estate.urls[:5])


@pytest.mark.slow
def test_progress_is_drawn_on_a_terminal_only(estate: Estate, tmp_path: Path) -> None:
    import pty

    targets = tmp_path / "t.txt"
    targets.write_text("\n".join([*estate.urls[:4], "https://127.0.0.1:9/"]) + "\n")
    args = [sys.executable, "-m", "posture", "scan", "--targets-file", str(targets)]
    args += ["--ca-bundle", str(estate.ca_path), "--no-record", "--timeout", "5", "-f", "json"]
    args += ["--no-browser"]
    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "160", "TERM": "xterm"}
    stdout = (tmp_path / "out.json").open(
        "wb"
    )  # a pipe nobody reads while the pty is read would fill
    proc = subprocess.Popen(args, stdout=stdout, stderr=secondary, env=env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=120)
    stdout.close()
    os.close(primary)
    out = (tmp_path / "out.json").read_text()
    drawn = b"".join(chunks).decode(errors="replace")
    assert "/5 targets" in drawn and "errors" in drawn and "left" in drawn
    assert json.loads(out)["results"]  # stdout (not a terminal) holds the JSON alone
    piped = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert "targets" not in piped.stderr


@pytest.mark.slow
def test_sigterm_marks_the_shard_failed(estate: Estate, tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    targets = estate.write_targets_file(tmp_path / "targets.txt")
    proc = _posture(
        *_scan_args(estate, targets, "--db", str(db), "--run-id", "term", "--shard", "1/2"),
        cwd=tmp_path,
    )
    history = History.open(str(db))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = history.run_status("term")
        if status is not None and status.shards[0].state == "running":
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    code, err = _finish(proc, timeout=60)
    assert code == 128 + signal.SIGTERM, err
    status = history.run_status("term")
    assert status is not None
    assert [s.state for s in status.shards] == ["failed", "missing"]
    assert status.problems() == [
        "shard 1/2 failed: terminated by SIGTERM before it finished",
        "shard 2/2 never started (no record of it)",
    ]


# --- streamed outputs -------------------------------------------------------------------------


def _fed_digest(document: dict) -> str:
    """The digest fed result by result, as the history records a scan."""
    from posture.history.digest import DigestStream

    stream = DigestStream({k: v for k, v in document.items() if k != "results"})
    for item in document["results"]:
        stream.add(item)
    return stream.hexdigest()


def test_streamed_json_and_digest_equal_the_whole_document(tmp_path: Path) -> None:
    import hashlib
    import io

    from posture.model import Area, Location, Result, Severity, Status
    from posture.render import RenderContext
    from posture.render import json as json_format
    from posture.scanreport import ScanReport

    now = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    results = [
        Result(
            check_id=f"WEB-{i}",
            title="Ünïcode ✓ title",
            area=Area.WEB,
            severity=Severity.MEDIUM,
            status=Status.FAIL if i % 2 else Status.PASS,
            target=f"https://shop{i}.example/",
            target_kind=TargetKind.STOREFRONT,
            message='quote " and \\ backslash',
            location=Location("posture.yaml", i + 1),
            evidence={"headers": {"b": [1, 2.5, None], "a": True}, "when": now},
        )
        for i in range(7)
    ]
    report = ScanReport(
        results, [shop("https://shop0.example/")], now, now, checks={"WEB-0": "web"}
    )
    handle = io.StringIO()
    json_format.write(report, RenderContext(), handle)
    assert handle.getvalue() == json_format.render(report, RenderContext())
    whole = json.dumps(report.to_dict(), ensure_ascii=False, default=str)
    assert json.loads(handle.getvalue()) == json.loads(whole)
    lines = [x.strip().rstrip(",") for x in handle.getvalue().splitlines() if '"check_id"' in x]
    assert [json.loads(x)["check_id"] for x in lines] == [r.check_id for r in results]
    canonical = json.dumps(report.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
    assert _fed_digest(report.to_dict(lazy=True)) == hashlib.sha256(canonical.encode()).hexdigest()
    empty = ScanReport([], [], now, now)
    handle = io.StringIO()
    json_format.write(empty, RenderContext(), handle)
    assert json.loads(handle.getvalue()) == json.loads(json.dumps(empty.to_dict(), default=str))
    assert (
        _fed_digest(empty.to_dict(lazy=True))
        == hashlib.sha256(
            json.dumps(empty.to_dict(), sort_keys=True, separators=(",", ":"), default=str).encode()
        ).hexdigest()
    )


def test_report_formats_name_an_incomplete_run(tmp_path: Path) -> None:
    from posture.history.store import RunShard
    from posture.model import Area, Result, Severity, Status
    from posture.reporting.formats import to_html, to_markdown
    from posture.reporting.model import Period, build_report
    from posture.scanreport import ScanReport

    now = dt.datetime.now(dt.UTC)
    history = History.open(str(tmp_path / "h.sqlite"))
    result = Result(
        "WEB-HSTS",
        "HSTS",
        Area.WEB,
        Severity.MEDIUM,
        Status.FAIL,
        "https://a.example/",
        TargetKind.STOREFRONT,
    )
    run = RunShard("weekly-49", 1, 3)
    history.start_shard(run, now, 1, "pod-1")
    history.record(ScanReport([result], [shop("https://a.example/")], now, now), run)
    history.start_shard(RunShard("weekly-49", 2, 3), now, 1, "pod-2")
    report = build_report(history, Period.parse(_quarter()))
    (incomplete,) = report["incomplete_runs"]
    assert incomplete["completed"] == [1] and incomplete["shards"] == 3
    assert (
        "shard 2/3 started at" in incomplete["problems"][0] and "pod-2" in incomplete["problems"][0]
    )
    assert incomplete["problems"][1] == "shard 3/3 never started (no record of it)"
    html = to_html(report)
    assert "Incomplete: this report does not cover the whole estate" in html
    assert "shard 3/3 never started" in html
    assert "> **Incomplete:** run weekly-49 (1 of 3 shards completed):" in to_markdown(report)
    # a re-run of shard 1 replaces its results; the run still waits for shards 2 and 3
    history.record(ScanReport([result], [shop("https://a.example/")], now, now), run)
    status = history.run_status("weekly-49")
    assert status is not None and len(history.results_of(status.scan_ids)[status.scan_ids[0]]) == 1
    assert [s.state for s in status.shards] == ["completed", "running", "missing"]
    with pytest.raises(Exception, match="has 3 shards in the history"):
        history.start_shard(RunShard("weekly-49", 1, 4), now, 1)
