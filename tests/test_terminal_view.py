"""The terminal view at estate scale: 100 loopback storefronts on one nginx, scanned by the real
``posture`` command, the way a security team runs it (pipes, and a pseudo-terminal)."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .testbed.estate import Estate, build_estate
from .testbed.nginx import NGINX

pytestmark = pytest.mark.skipif(not Path(NGINX).exists(), reason="Debian nginx is not installed")

SHOPS = 100
SEVERITIES = ("critical", "high", "medium", "low", "info")
ESC = "\x1b"


@dataclass
class Scanned:
    estate: Estate
    config: Path
    folder: Path
    summary: subprocess.CompletedProcess[str]  # -f json -o result.json: the terminal summary
    document: dict  # type: ignore[type-arg]


@pytest.fixture(scope="session")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    built = build_estate(tmp_path_factory.mktemp("estate"), SHOPS)
    try:
        yield built
    finally:
        built.stop()


def posture(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "posture", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "120", **(env or {})},
        check=False,
    )


def scan_args(scanned_estate: Estate, config: Path) -> list[str]:
    # A generous timeout: the machine running the tests may be busy.
    ca = str(scanned_estate.ca_path)
    return ["scan", "-c", str(config), "--ca-bundle", ca, "--no-record", "--timeout", "30", "--no-browser"]


@pytest.fixture(scope="session")
def scanned(estate: Estate, tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    folder = tmp_path_factory.mktemp("scan")
    config = estate.write_config(folder / "posture.yaml")
    done = posture(folder, *scan_args(estate, config), "-f", "json", "-o", "result.json")
    assert done.returncode == 1, done.stderr  # the estate has high failures
    document = json.loads((folder / "result.json").read_text())
    errors = [(r["target"], r["message"]) for r in document["results"] if r["status"] == "error"]
    assert not errors, errors[:5]  # every shop of the estate answers
    return Scanned(estate, config, folder, done, document)


def first_index(estate: Estate) -> dict[str, int]:
    """URL -> index of the shop serving it. Ports are picked free one by one, so two shops may
    rarely get the same port: nginx then serves the first block, and posture scans the URL once."""
    out: dict[str, int] = {}
    for index, url in enumerate(estate.urls):
        out.setdefault(url, index)
    return out


def shop_names(estate: Estate) -> dict[str, str]:
    return {url: estate.names[index] for url, index in first_index(estate).items()}


def failing_targets(document: dict, kind: str = "storefront") -> dict[str, set[str]]:  # type: ignore[type-arg]
    out: dict[str, set[str]] = defaultdict(set)
    for r in document["results"]:
        if r["status"] == "fail" and r["target_kind"] == kind:
            out[r["check_id"]].add(r["target"])
    return out


def test_default_view_beside_a_json_file_is_the_grouped_summary_within_a_line_budget(
    scanned: Scanned,
) -> None:
    out = scanned.summary.stdout
    lines = out.splitlines()
    document = scanned.document
    failing_checks = {r["check_id"] for r in document["results"] if r["status"] == "fail"}
    skipped_checks = {r["check_id"] for r in document["results"] if r["status"] == "skipped"}
    # Three lines per failing check, one per check that could not be tested, the five worst
    # targets and a few headings: the length follows the distinct checks, not the 100 shops.
    budget = 3 * len(failing_checks) + len(skipped_checks) + 5 + 12
    assert len(lines) <= budget, out
    assert len(lines) < 60, out
    assert len(document["results"]) > 20 * len(lines)  # far from one line per result
    assert lines[0].startswith("FINDINGS BY CHECK")
    assert "results |" in lines[-1] and "FAIL:" in lines[-1]
    # The per-result view would print each target's URL; the summary names shops instead.
    assert not any(url in out for url in scanned.estate.urls)


def test_summary_counts_match_the_json(scanned: Scanned) -> None:
    out = scanned.summary.stdout
    lines = out.splitlines()
    names = shop_names(scanned.estate)
    expected = failing_targets(scanned.document)
    seen = 0
    for index, line in enumerate(lines):
        found = re.match(r"^(CRITICAL|HIGH|MEDIUM|LOW|INFO)\s+(\S+)\s", line)
        if not found or found.group(2) not in expected:
            continue
        check_id = found.group(2)
        reach = re.match(
            r"^\s+(?:all )?(\d+)(?: of (\d+))? storefronts? fail: (.*)$", lines[index + 1]
        )
        assert reach, lines[index + 1]
        assert int(reach.group(1)) == len(expected[check_id]), check_id
        assert int(reach.group(2) or reach.group(1)) <= SHOPS
        first = reach.group(3).split(",")[0].split(" and ")[0].strip()
        assert first in {names[t] for t in expected[check_id]}
        seen += 1
    assert seen == len(expected)
    # The estate's known mix, through the JSON and the terminal alike.
    served = first_index(scanned.estate).values()
    assert len(expected["WEB-HSTS"]) == len([i for i in served if i % 3 == 0])
    assert len(expected["WEB-VERSION-DISCLOSURE"]) == len([i for i in served if i % 5 == 0])
    assert len(expected["WEB-SCRIPT-INTEGRITY"]) == len([i for i in served if i % 7 == 0])
    # Sorted by severity, then by reach.
    order = [
        (SEVERITIES.index(m.group(1).lower()), m.group(2))
        for m in (re.match(r"^(CRITICAL|HIGH|MEDIUM|LOW|INFO)\s+(\S+)\s", line) for line in lines)
        if m
    ]
    assert [o[0] for o in order] == sorted(o[0] for o in order)
    # The totals line carries the JSON summary's figures.
    summary = scanned.document["summary"]
    totals = lines[-1]
    assert totals.startswith(f"{summary['total']} results | failed: ")
    for severity, count in summary["failures_by_severity"].items():
        if count:
            assert f"{count} {severity}" in totals


def test_summary_names_the_worst_targets(scanned: Scanned) -> None:
    lines = scanned.summary.stdout.splitlines()
    names = shop_names(scanned.estate)
    per_target: dict[str, Counter[str]] = defaultdict(Counter)
    for r in scanned.document["results"]:
        if r["status"] == "fail" and r["target"] in names:
            per_target[names[r["target"]]][r["severity"]] += 1
    worst = min(per_target, key=lambda n: (tuple(-per_target[n][s] for s in SEVERITIES), n))
    start = next(i for i, line in enumerate(lines) if line.startswith("MOST SERIOUS FAILURES"))
    listed = [line.split()[0] for line in lines[start + 1 : start + 6] if line.startswith("  ")]
    assert listed[0] == worst == "shop000"  # no HSTS, server_tokens on and a tracker without SRI
    assert set(listed) <= set(per_target)


def test_details_gives_every_result_and_quiet_one_line(scanned: Scanned) -> None:
    details = posture(
        scanned.folder, *scan_args(scanned.estate, scanned.config), "--only", "web", "--details"
    )
    rows = [
        line
        for line in details.stdout.splitlines()
        if re.match(r"^(CRITICAL|HIGH|MEDIUM|LOW|INFO)\s+(fail|error|skipped|waived)\s", line)
    ]
    web = [
        r
        for r in scanned.document["results"]
        if r["area"] == "web" and r["status"] != "pass" and r["target_kind"] == "storefront"
    ]
    assert len(rows) == len(web) > 100
    quiet = posture(
        scanned.folder, *scan_args(scanned.estate, scanned.config), "--only", "WEB-HSTS", "-q"
    )
    assert quiet.returncode == 0  # HSTS failures are medium; the default threshold is high
    assert quiet.stdout.count("\n") == 1
    served = first_index(scanned.estate).values()
    hsts = len([i for i in served if i % 3 == 0])
    assert quiet.stdout.startswith(f"{len(served)} results | failed: {hsts} medium")
    assert "OK: nothing failing at or above high" in quiet.stdout
    assert quiet.stderr == ""


def test_piped_output_has_no_control_sequences_and_no_progress(scanned: Scanned) -> None:
    piped = posture(scanned.folder, *scan_args(scanned.estate, scanned.config), "--only", "web")
    assert piped.stdout.startswith("FINDINGS BY CHECK")
    assert ESC not in piped.stdout and ESC not in piped.stderr
    assert "collectors" not in piped.stderr  # no progress display


def run_in_pty(args: list[str], cwd: Path) -> tuple[int, bytes]:
    """Run ``args`` with stdin, stdout and stderr on a pseudo-terminal of 120x40; its output."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "TERM")}
    env["TERM"] = "xterm-256color"
    process = subprocess.Popen(  # noqa: S603 - our own command
        args, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
    )
    os.close(slave)
    output = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
        code = process.wait(timeout=300)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return code, output


def _after_last_line_of(output: bytes, marker: bytes) -> bytes:
    end = output.rindex(marker)
    return output[output.index(b"\n", end) :]


def test_under_a_terminal_the_progress_bar_shows_and_nothing_follows_the_end(
    scanned: Scanned,
) -> None:
    code, output = run_in_pty(
        [
            sys.executable,
            "-m",
            "posture",
            *scan_args(scanned.estate, scanned.config),
            "--only",
            "web",
        ],
        scanned.folder,
    )
    assert code == 1 or code == 0
    text = output.decode("utf-8", "replace")
    assert "targets" in text and "errors" in text  # the estate-wide progress display ran
    assert "\x1b[?25l" in text and text.rindex("\x1b[?25h") > text.rindex("\x1b[?25l")
    assert "FINDINGS BY CHECK" in text
    # Colours on the terminal, and nothing after the verdict line: no reset sequences.
    assert _after_last_line_of(output, b"results |").strip() == b""


def test_demo_prints_no_stray_sequences_after_it_ends(tmp_path: Path) -> None:
    code, output = run_in_pty([sys.executable, "-m", "posture", "demo", "--dir", "d"], tmp_path)
    assert code == 0, output[-2000:]
    tail = _after_last_line_of(output, b"Demo files, posture.yaml and results")
    assert ESC.encode() not in tail and tail.strip() == b"", tail


def test_warnings_are_one_short_line_per_cause(scanned: Scanned) -> None:
    """Storefronts whose certificate does not match their name: urllib3 logs a warning with the
    whole certificate for each; posture prints one short line with a count."""
    estate = scanned.estate
    args = ["scan", "--ca-bundle", str(estate.ca_path), "--no-record", "--timeout", "30", "--no-browser"]
    for url in estate.urls[:4]:
        port = url.rsplit(":", 1)[1].strip("/")
        args += ["--target", f"https://wrong.posture.test:{port}/"]
        args += ["--resolve", f"wrong.posture.test:{port}:127.0.0.1", "--only", "WEB-HSTS"]
    done = posture(scanned.folder, *args)
    warnings = [line for line in done.stderr.splitlines() if "warning" in line.lower()]
    assert len(warnings) == 1, done.stderr
    assert "did not match expected hostname: wrong.posture.test" in warnings[0]
    assert "(4 times; each with --debug)" in warnings[0]
    assert "serialNumber" not in done.stderr and len(warnings[0]) < 200
    # One error per target and cause, as in the results: the summary groups the one cause
    # across the four targets; the per-result view gives one line per target.
    errors = [line for line in done.stdout.splitlines() if "COLLECT-HTTP" in line]
    assert len(errors) == 1, done.stdout
    assert "4 targets: " in done.stdout and "(1 check blocked on each)" in done.stdout
    details = posture(scanned.folder, *args, "--details")
    errors = [line for line in details.stdout.splitlines() if "COLLECT-HTTP" in line]
    assert len(errors) == 4, details.stdout
    assert len(re.findall("did not match expected hostname", details.stderr)) == 1


def test_one_error_entry_per_cause_across_checks_and_targets() -> None:
    """A named page that never answered makes every page-reading check give the same error:
    the summary reads it once for all its targets; the per-result view once per target."""
    import datetime as dt

    from posture.model import Area, Result, Severity, Status, Target, TargetKind
    from posture.render import RenderContext, render
    from posture.scanreport import ScanReport

    targets = [
        Target(TargetKind.STOREFRONT, f"https://10.0.0.{i}:8443/", {"name": f"shop{i}"})
        for i in range(1, 6)
    ]
    results = [
        Result(
            check_id,
            check_id,
            Area.WEB,
            Severity.MEDIUM,
            Status.ERROR,
            t.name,
            TargetKind.STOREFRONT,
            message=f"page checkout could not be fetched: {t.name}checkout: cannot connect: refused",
            resource=f"{t.name}checkout",
            key="checkout",
        )  # fmt: skip
        for t in targets[:2]
        for check_id in ("WEB-CSP", "WEB-MIXED-CONTENT", "WEB-SCRIPT-INTEGRITY")
    ]
    now = dt.datetime.now(dt.UTC)
    report = ScanReport(results, targets, now, now)
    summary = render(report, "terminal", RenderContext(view="summary")).splitlines()
    errors = [line for line in summary if line.startswith("ERROR")]
    assert errors == [
        "ERROR    3 checks  page checkout could not be fetched: cannot connect: refused"
    ], summary
    assert any("2 targets: shop1, shop2 (WEB-CSP, WEB-MIXED-CONTENT" in line for line in summary)
    details = render(report, "terminal", RenderContext(view="details")).splitlines()
    assert len([line for line in details if "could not be fetched" in line]) == 2, details
