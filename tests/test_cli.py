"""The small commands: init, explain, --version, --resolve parsing, and the demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posture import __version__
from posture.commands._scanning import parse_resolve
from posture.config import load_config
from posture.errors import UsageError

from .conftest import FIXTURES, RunCli

LOCAL_CHECKS = str(FIXTURES / "core" / "checks")


def test_version(run_cli: RunCli) -> None:
    proc = run_cli("--version")
    assert proc.stdout.strip() == f"posture {__version__}"


def test_init_writes_a_config_that_loads(run_cli: RunCli, tmp_path: Path) -> None:
    proc = run_cli("init")
    assert proc.returncode == 0
    (tmp_path / "infra").mkdir()
    config = load_config(tmp_path / "posture.yaml")
    assert config.storefronts[0].url.startswith("https://")
    assert run_cli("init").returncode == 2  # never overwrites without --force
    assert run_cli("init", "--force").returncode == 0


def test_explain_shows_metadata(run_cli: RunCli) -> None:
    proc = run_cli("explain", "test-fails", "--checks-dir", LOCAL_CHECKS)
    assert proc.returncode == 0
    assert proc.stdout.startswith("TEST-FAILS: always fails")
    assert "severity: high" in proc.stdout
    missing = run_cli("explain", "NOPE-1", "--checks-dir", LOCAL_CHECKS)
    assert missing.returncode == 2 and "no check with id 'NOPE-1'" in missing.stderr


def test_resolve_parses_like_curl() -> None:
    pins = parse_resolve(["Shop.Example:443:127.0.0.1", "shop.example:8443:[::1]"])
    assert pins == {("shop.example", 443): "127.0.0.1", ("shop.example", 8443): "::1"}
    with pytest.raises(UsageError):
        parse_resolve(["shop.example:443"])


def test_demo_runs_offline_and_writes_its_files(run_cli: RunCli, tmp_path: Path) -> None:
    proc = run_cli("demo", "--dir", "demo", timeout=300)
    assert proc.returncode == 0, proc.stderr
    demo = tmp_path / "demo"
    assert (demo / "posture.yaml").is_file()
    document = json.loads((demo / "posture-result.json").read_text())
    statuses = {r["status"] for r in document["results"]}
    assert "fail" in statuses, "the demo shop is misconfigured on purpose"
    assert {t["kind"] for t in document["targets"]} >= {"storefront", "iac"}
    load_config(demo / "posture.yaml")
