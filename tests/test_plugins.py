"""A third-party plugin installed with pip is listed and run like a built-in check."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import FIXTURES, RunCli


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    source = tmp_path_factory.mktemp("plugin") / "posture-acme-plugin"
    shutil.copytree(FIXTURES / "core" / "plugin", source)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--no-deps", str(source)], check=True, timeout=300)
    try:
        yield "posture-acme-plugin"
    finally:
        subprocess.run([*pip, "uninstall", "-y", "posture-acme-plugin"], check=False, timeout=120)


def test_plugin_check_is_listed(installed_plugin: str, run_cli: RunCli) -> None:
    proc = run_cli("checks", "list", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    checks = {c["id"]: c for c in json.loads(proc.stdout)}
    assert checks["ACME-NO-TODO"]["area"] == "other"
    assert checks["ACME-NO-TODO"]["severity"] == "medium"
    assert checks["ACME-NO-TODO"]["title"] == "Evidence file still has TODO markers"
    assert "posture_acme" in checks["ACME-NO-TODO"]["source"]


def test_plugin_check_runs_in_a_scan(
    installed_plugin: str, run_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "notes.conf").write_text("ok\nTODO: rotate keys\n")
    (tmp_path / "posture.yaml").write_text("version: 1\nconfigs:\n  - path: notes.conf\n")
    proc = run_cli("scan", "-c", "posture.yaml", "--only", "ACME-*", "--format", "json")
    document = json.loads(proc.stdout)
    results = [r for r in document["results"] if r["check_id"] == "ACME-NO-TODO"]
    assert [(r["status"], r["key"]) for r in results] == [("fail", "2")]
    assert proc.returncode == 0  # medium is below the default --fail-on high
