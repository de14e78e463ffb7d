"""Hostile files in a pull request: endless and blocking files, YAML bombs, card numbers the
search must not miss, and input that used to end in a traceback. Real files, the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import RunCli

# A FIFO with no writer blocks a reader for ever; every read of untrusted input must refuse it.
FIFO_TIMEOUT = 60


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The process failed with exit 2 and one line naming what was wrong, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --- 11. unbounded and blocking reads ----------------------------------------------------------


def test_the_bounded_reader_refuses_devices_fifos_and_big_files(tmp_path: Path) -> None:
    from posture.safe_read import FileRefused, read_limited

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 101)
    small = tmp_path / "small"
    small.write_bytes(b"x" * 100)
    for path in (Path("/dev/zero"), fifo, big, tmp_path):
        with pytest.raises(FileRefused):
            read_limited(path, 100)
    assert read_limited(small, 100) == b"x" * 100


@pytest.fixture
def fifo_project(tmp_path: Path) -> Path:
    for name in ("sshd_config", "profile.json", "waivers.yaml", "baseline.json", "doc.md"):
        os.mkfifo(tmp_path / name)
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text('resource "null_resource" "x" {}\n')
    os.mkfifo(tmp_path / "infra" / "evil.tf")
    return tmp_path


@pytest.mark.parametrize(
    ("config", "args"),
    [
        ("configs: [{path: sshd_config, kind: sshd}]", ()),
        ("storefronts: [{url: 'https://127.0.0.1:9/', tls_profile: profile.json}]", ()),
        ("controls: {privacy: {incident_response_plan: doc.md}}", ()),
        ("iac: [{path: infra}]", ()),
        ("", ("--waivers", "waivers.yaml")),
        ("", ("--baseline", "baseline.json")),
    ],
)
def test_a_fifo_never_blocks_the_scan(
    fifo_project: Path, run_cli: RunCli, config: str, args: tuple[str, ...]
) -> None:
    (fifo_project / "posture.yaml").write_text(f"version: 1\n{config}\n")
    proc = run_cli(
        "scan", "-c", "posture.yaml", "--timeout", "1", "--no-record", "-f", "json",
        "--skip", "web", *args, cwd=fifo_project, timeout=FIFO_TIMEOUT,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    if proc.returncode == 2:
        one_line_error(proc, "not a regular file")
    else:
        found = [r for r in json.loads(proc.stdout)["results"] if "regular file" in r["message"]]
        assert found, proc.stdout


def test_posture_yaml_itself_may_not_be_a_fifo(tmp_path: Path, run_cli: RunCli) -> None:
    os.mkfifo(tmp_path / "posture.yaml")
    proc = run_cli("scan", "-c", "posture.yaml", "--no-record", timeout=FIFO_TIMEOUT)
    one_line_error(proc, "posture.yaml", "not a regular file")


@pytest.mark.parametrize(
    "args",
    [("-c", "/dev/zero"), ("--waivers", "/dev/zero"), ("--baseline", "/dev/zero")],
)
def test_dev_zero_on_the_command_line_is_refused(
    tmp_path: Path, run_cli: RunCli, args: tuple[str, ...]
) -> None:
    (tmp_path / "main.tf").write_text('resource "null_resource" "x" {}\n')
    target = () if args[0] == "-c" else ("--iac", "main.tf", "--only", "IAC-*")
    proc = run_cli("scan", *args, *target, "--no-record", timeout=FIFO_TIMEOUT)
    one_line_error(proc, "/dev/zero", "not a regular file")


# --- 12. YAML bombs and mistyped overrides -----------------------------------------------------


def laughs(levels: int) -> str:
    """Nested aliases, 9 uses per level: 10**levels nodes once expanded, few aliases."""
    lines = ['      - &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*l{i - 1}"] * 10)
        lines.append(f"      - &l{i} [{refs}]")
    return "\n".join(lines)


def test_a_billion_laughs_in_policy_overrides_is_refused(tmp_path: Path, run_cli: RunCli) -> None:
    # 7 levels: 10**7 nodes (safe to try on a build without the cap); 90 alias uses, under the
    # alias cap. The cap is on expanded nodes, whatever the depth.
    (tmp_path / "posture.yaml").write_text(
        f"version: 1\npolicy:\n  overrides:\n    web:\n      admin_paths:\n{laughs(7)}\n"
    )
    proc = run_cli("scan", "-c", "posture.yaml", "--no-record", "--only", "WEB-*", timeout=120)
    one_line_error(proc, "posture.yaml", "nodes")


def test_deeply_nested_yaml_is_refused(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "posture.yaml").write_text("version: 1\nwaivers: " + "[" * 5000 + "]" * 5000)
    proc = run_cli("scan", "-c", "posture.yaml", "--no-record", timeout=60)
    one_line_error(proc, "posture.yaml:2", "nested")


def test_a_recursive_alias_is_refused(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "posture.yaml").write_text("version: 1\nwaivers: &a [*a]\n")
    proc = run_cli("scan", "-c", "posture.yaml", "--no-record", timeout=60)
    one_line_error(proc, "posture.yaml")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("web:\n      admin_paths: /admin", "list"),
        ("controls:\n      card_scan:\n        max_files: many", "integer"),
        ("controls:\n      card_scan: 5", "mapping"),
        ("scan:\n      fail_on: [high]", "string"),
    ],
)
def test_a_mistyped_policy_override_names_file_line_and_type(
    tmp_path: Path, run_cli: RunCli, override: str, expected: str
) -> None:
    (tmp_path / "posture.yaml").write_text(f"version: 1\npolicy:\n  overrides:\n    {override}\n")
    proc = run_cli("scan", "-c", "posture.yaml", "--no-record", "--only", "WEB-*", timeout=60)
    line = one_line_error(proc, "posture.yaml:", expected)
    assert "policy." in line


# --- 13. the card-number search never says "no card data" for files it did not read -------------


def luhn_complete(prefix: str, length: int) -> str:
    """``prefix`` padded with 7s and a Luhn check digit: a valid number, not a known test one."""
    body = prefix + "7" * (length - len(prefix) - 1)
    for check in "0123456789":
        digits = body + check
        total = 0
        for i, ch in enumerate(reversed(digits)):
            d = int(ch)
            if i % 2:
                d = d * 2 - 9 if d > 4 else d * 2
            total += d
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


VISA = luhn_complete("45567375", 16)
MASTERCARD = luhn_complete("5412753456", 16)


def card_scan(folder: Path, run_cli: RunCli, overrides: str = "") -> list[dict[str, object]]:
    policy = (
        f"policy:\n  overrides:\n    controls:\n      card_scan:\n{overrides}\n"
        if overrides
        else ""
    )
    (folder / "posture.yaml").write_text(f"version: 1\n{policy}")
    proc = run_cli(
        "scan", "-c", "posture.yaml", "--no-record", "--only", "PAY-CARD-DATA-IN-REPO",
        "-f", "json", cwd=folder, timeout=120,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    return [r for r in json.loads(proc.stdout)["results"]]


def test_utf16_files_and_numbers_before_a_full_stop_are_searched(
    tmp_path: Path, run_cli: RunCli
) -> None:
    (tmp_path / "export.csv").write_bytes(f"name,card\nAda,{VISA}\n".encode("utf-16"))
    (tmp_path / "notes.txt").write_text(f"Customer paid with {MASTERCARD}. Refund later.\n")
    (tmp_path / "version.txt").write_text("build 1.4556737577777771.2 of the app\n")
    results = card_scan(tmp_path, run_cli)
    found = {str(r["message"]): r for r in results if r["status"] == "fail"}
    masked = {VISA[:6] + "*" * 6 + VISA[-4:], MASTERCARD[:6] + "*" * 6 + MASTERCARD[-4:]}
    assert {m for m in masked if any(m in msg for msg in found)} == masked, found
    assert not any("version.txt" in json.dumps(r) for r in results)


def test_files_it_did_not_read_make_the_search_skipped_naming_them(
    tmp_path: Path, run_cli: RunCli
) -> None:
    (tmp_path / "a-huge-dump.sql").write_text("-- " + "x" * 5000 + "\n" + VISA + "\n")
    for i in range(6):
        (tmp_path / f"f{i}.txt").write_text("nothing here\n")
    for overrides, expected in [
        ("        max_file_bytes: 2000", ("a-huge-dump.sql", "2000-byte limit")),
        # 8 files with posture.yaml: 4 past the cap
        ("        max_files: 4", ("4 files not searched", "file cap")),
    ]:
        results = card_scan(tmp_path, run_cli, overrides)
        assert not [r for r in results if r["status"] == "pass"], results
        skipped = [r for r in results if r["status"] == "skipped"]
        assert len(skipped) == 1, results
        for needle in expected:
            assert needle in str(skipped[0]["message"]), skipped


# --- 18. one line and exit 2, never a traceback -------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        "waivers:\n  - {check: WEB-HSTS, reason: r, approved_by: me, expires: 2026-02-30}",
        "controls:\n  access:\n    access_review: {by: me, date: 2026-02-30, renewal: yearly}",
    ],
)
def test_an_impossible_date_is_one_line(tmp_path: Path, run_cli: RunCli, config: str) -> None:
    (tmp_path / "posture.yaml").write_text(f"version: 1\n{config}\n")
    proc = run_cli("scan", "-c", "posture.yaml", "--no-record", timeout=60)
    one_line_error(proc, "posture.yaml:", "2026-02-30")


def test_deeply_nested_json_is_one_line(tmp_path: Path, run_cli: RunCli) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "main.tf").write_text('resource "null_resource" "x" {}\n')
    proc = run_cli("scan", "--iac", "main.tf", "--baseline", str(deep), "--no-record")
    one_line_error(proc, "deep.json")
    proc = run_cli("baseline", "create", "--from", str(deep), "-o", str(tmp_path / "b.json"))
    one_line_error(proc, "deep.json")


@pytest.mark.parametrize(
    "url", ["postgresql://u@localhost:notaport/x", "://", "sqlite:////nonexistent/dir/h.db"]
)
def test_a_malformed_db_url_is_one_line(tmp_path: Path, run_cli: RunCli, url: str) -> None:
    (tmp_path / "main.tf").write_text('resource "null_resource" "x" {}\n')
    proc = run_cli("scan", "--iac", "main.tf", "--only", "IAC-*", "--db", url)
    one_line_error(proc, "history database")


def test_verify_and_keygen_with_missing_or_bad_files(tmp_path: Path, run_cli: RunCli) -> None:
    report = tmp_path / "report.html"
    report.write_text("<html></html>\n")
    one_line_error(run_cli("keygen", "-o", str(tmp_path / "no" / "dir" / "key")), "key")
    one_line_error(run_cli("verify", str(report), "--key", str(tmp_path / "none.pub")))
    key = tmp_path / "key"
    assert run_cli("keygen", "-o", str(key)).returncode == 0
    # a signature file that is not a signature at all
    for bad in ("{", "[]", '{"manifest": 1, "signature": "!!"}', "null"):
        (tmp_path / "report.html.sig").write_text(bad)
        one_line_error(run_cli("verify", str(report), "--key", f"{key}.pub"), "report.html.sig")
    # a public key file that is not a key; a report that does not exist
    (tmp_path / "junk.pub").write_text("not a key\n")
    (tmp_path / "report.html.sig").write_text('{"manifest": {}, "signature": ""}')
    one_line_error(run_cli("verify", str(report), "--key", str(tmp_path / "junk.pub")), "junk.pub")
    one_line_error(run_cli("verify", str(tmp_path / "gone.html"), "--key", f"{key}.pub"))
