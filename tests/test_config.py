"""posture.yaml errors: one clear line naming file and line, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from posture.config import load_config, targets_from_config
from posture.errors import ConfigError
from posture.model import TargetKind

from .conftest import RunCli

GOOD = """\
version: 1
storefronts:
  - url: https://shop.example.com
    pages:
      checkout: /checkout
iac:
  - path: infra
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "infra").mkdir(exist_ok=True)
    path = tmp_path / "posture.yaml"
    path.write_text(text)
    return path


def test_good_config_declares_targets_with_their_lines(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    targets = targets_from_config(config)
    kinds = {t.kind: t for t in targets}
    assert kinds[TargetKind.STOREFRONT].name == "https://shop.example.com"
    assert kinds[TargetKind.STOREFRONT].declared_at is not None
    assert kinds[TargetKind.STOREFRONT].declared_at.start_line == 3
    assert kinds[TargetKind.IAC].declared_at.start_line == 7  # type: ignore[union-attr]
    assert Path(kinds[TargetKind.IAC].options["abs_path"]) == tmp_path / "infra"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "version: 1\nstorefronts:\n  - url: https://a.example\n    colour: red\n",
            4,
            "unknown key",
        ),
        ("version: 1\nstorefronts: {url: 3}\n", 2, "storefronts"),
        ("version: 1\nstorefronts:\n  - url: ftp://a.example\n", 3, "not an http(s) URL"),
        ("version: 1\niac:\n  - path: does-not-exist\n", 3, "no such file"),
        ("version: 1\nstorefronts:\n  - url: [unclosed\n", 4, "invalid YAML"),
        ("version: 1\nversion: 1\n", 2, "duplicate key"),
        ("version: 2\n", 1, "unsupported version"),
        ("policy:\n  overrides:\n    scan:\n      fail_onn: low\n", 4, "unknown policy key"),
    ],
)
def test_bad_config_names_file_and_line(
    tmp_path: Path, run_cli: RunCli, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, text)
    proc = run_cli("scan", "-c", str(path))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"{path}:{line}:" in lines[0]
    assert words in lines[0]
    assert "Traceback" not in proc.stderr


def test_missing_config_file(tmp_path: Path, run_cli: RunCli) -> None:
    proc = run_cli("scan", "-c", "nope.yaml")
    assert proc.returncode == 2
    assert "nope.yaml: configuration file not found" in proc.stderr


def test_yaml_aliases_cannot_explode(tmp_path: Path) -> None:
    lines = ["policy:", "  overrides:", "    l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 13):
        lines.append(f"    l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    with pytest.raises(ConfigError, match="YAML aliases"):
        load_config(write(tmp_path, "\n".join(lines) + "\n"))
