"""posture init: write a commented starter posture.yaml."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="write a starter posture.yaml", description=__doc__)
    p.add_argument("-o", "--output", default="posture.yaml", metavar="FILE")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from importlib import resources
    from pathlib import Path

    from posture.errors import UsageError

    path = Path(args.output)
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists; use --force to overwrite")
    text = resources.files("posture.templates").joinpath("posture.yaml").read_text("utf-8")
    path.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {path}: edit it, then run 'posture scan -c {path}'\n")
    return 0
