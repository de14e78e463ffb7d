"""posture verify REPORT --key PUB: check a report's detached signature and its scan manifest;
with --db, recompute every listed scan's digest from the history database as well."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("verify", help="verify a signed report", description=__doc__)
    p.add_argument("report", metavar="REPORT")
    p.add_argument("--key", required=True, metavar="PUB", help="the public key (NAME.pub)")
    p.add_argument("--signature", metavar="FILE", help="default REPORT.sig")
    p.add_argument(
        "--db",
        metavar="URL",
        help="history database: recompute each listed scan's digest from its stored results",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from posture.reporting.signing import verify, verify_scans

    manifest = verify(
        Path(args.report), Path(args.key), Path(args.signature) if args.signature else None
    )
    extra = ""
    if args.db:
        from posture.history import History

        verify_scans(manifest, History.open(args.db))
        extra = "; every scan digest recomputed from the database matches"
    sys.stdout.write(
        f"OK: {args.report} is signed and unchanged; it covers {len(manifest['scans'])} scans"
        f"{extra}\n"
    )
    return 0
