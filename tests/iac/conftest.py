"""One real checkov run per fixture tree, shared by every IaC test (session scope)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from posture.engine import ScanRequest, scan
from posture.model import Result

FIXTURES = Path(__file__).parent.parent / "fixtures" / "iac"


@pytest.fixture(scope="session", autouse=True)
def iac_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("iac-cache")
    old = os.environ.get("POSTURE_CACHE_DIR")
    os.environ["POSTURE_CACHE_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("POSTURE_CACHE_DIR", None)
    else:
        os.environ["POSTURE_CACHE_DIR"] = old


def _scan(path: Path) -> list[Result]:
    return scan(ScanRequest(iac_paths=[str(path)])).results


@pytest.fixture(scope="session")
def bad_results() -> list[Result]:
    return _scan(FIXTURES / "bad")


@pytest.fixture(scope="session")
def good_results() -> list[Result]:
    return _scan(FIXTURES / "good")


@pytest.fixture(scope="session")
def broken_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("broken") / "infra"
    shutil.copytree(FIXTURES / "broken", tree)
    with (tree / "huge.tf").open("w") as fh:  # 20 MB: over the 5 MB limit
        line = 'resource "aws_s3_bucket" "b%d" { bucket = "x" }\n'
        fh.writelines(line % i for i in range(420_000))
    return tree


@pytest.fixture(scope="session")
def broken_results(broken_tree: Path) -> list[Result]:
    return _scan(broken_tree)


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first line containing ``needle``: the tests assert real lines."""
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if needle in text:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def pick(results: list[Result], check_id: str, resource: str | None = None) -> list[Result]:
    return [
        r
        for r in results
        if r.check_id == check_id and (resource is None or r.resource == resource)
    ]
