"""posture verify REPORT --key PUB: check a report's detached signature and its scan manifest."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("verify", help="verify a signed report", description=__doc__)
    p.add_argument("report", metavar="REPORT")
    p.add_argument("--key", required=True, metavar="PUB", help="the public key (NAME.pub)")
    p.add_argument("--signature", metavar="FILE", help="default REPORT.sig")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from posture.reporting.signing import verify

    manifest = verify(
        Path(args.report), Path(args.key), Path(args.signature) if args.signature else None
    )
    sys.stdout.write(
        f"OK: {args.report} is signed and unchanged; it covers {len(manifest['scans'])} scans\n"
    )
    return 0
