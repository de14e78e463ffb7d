"""Start-up stays light: --help, --version and checks list import neither checkov nor sslyze."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from posture.cli import main
try:
    main({args!r})
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('checkov', 'sslyze', 'nassl'))
print('HEAVY=' + ','.join(heavy))
"""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["checks", "list"], ["explain", "x"]])
def test_no_heavy_imports(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("HEAVY="))
    assert line == "HEAVY=", f"{args}: {line}"
