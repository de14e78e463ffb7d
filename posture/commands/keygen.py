"""posture keygen -o NAME: an Ed25519 key pair for signing reports (NAME mode 0600, NAME.pub)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("keygen", help="create a report-signing key pair", description=__doc__)
    p.add_argument("-o", "--output", required=True, metavar="NAME")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from posture.errors import UsageError
    from posture.reporting.signing import keygen

    name = Path(args.output)
    if name.exists() or Path(f"{name}.pub").exists():
        raise UsageError(f"{name} or {name}.pub exists: refusing to overwrite a key")
    private, public = keygen(name)
    sys.stdout.write(f"wrote {private} (private, mode 0600) and {public}\n")
    return 0
