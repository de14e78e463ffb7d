"""The wheel installs one import package, posture, with checks/ and policies/ inside it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO

MAPPED = {"posture": "posture", "checks": "posture.checks", "policies": "posture.policies"}


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = set()
    for top, name in MAPPED.items():
        for init in (REPO / top).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / top)
            found.add(".".join([name, *rel.parts]) if rel.parts else name)
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
        timeout=600,
    )
    return next(out.glob("storefront_posture-*.whl"))


def test_wheel_has_one_top_level_package_and_ships_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.startswith("storefront_posture-")}
    assert tops == {"posture"}
    for needed in (
        "posture/checks/__init__.py",
        "posture/policies/profiles/default/scan.yaml",
        "posture/policies/schemas/scan-result.schema.json",
        "posture/templates/posture.yaml",
        "posture/demo/files/posture.yaml.in",
        "posture/demo/files/ops/sshd_config",
        "posture/reporting/templates/report.html.j2",
        "posture/policies/frameworks/gdpr.yaml",
        "posture/policies/mappings/checkov.yaml",
        "posture/policies/tls/mozilla-server-side-tls.json",
        "posture/py.typed",
    ):
        assert needed in names
    metadata = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "AGPL-3.0-or-later" in text
