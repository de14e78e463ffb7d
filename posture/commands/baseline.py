"""posture baseline create: record today's findings so later scans fail only for new ones."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    from posture.commands.scan import add_scan_options

    p = sub.add_parser("baseline", help="create a baseline of known findings", description=__doc__)
    inner = p.add_subparsers(dest="baseline_command", metavar="SUBCOMMAND")
    create = inner.add_parser(
        "create", help="scan (or read --from RESULT.json) and write a baseline"
    )
    add_scan_options(create)
    create.add_argument(
        "--from",
        dest="from_file",
        metavar="FILE",
        help="a saved scan result (JSON) instead of scanning",
    )
    create.add_argument("-o", "--output", default="posture-baseline.json", metavar="FILE")
    create.set_defaults(func=run_create)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_create(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from posture.baseline import baseline_document
    from posture.errors import UsageError
    from posture.scanreport import ScanReport

    if args.from_file:
        from posture.safe_read import MAX_SCAN_JSON_BYTES, parse_json, read_limited

        try:
            report = ScanReport.from_dict(
                parse_json(read_limited(Path(args.from_file), MAX_SCAN_JSON_BYTES))
            )
        except OSError as exc:
            raise UsageError(f"{args.from_file}: cannot read: {exc.strerror}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UsageError(f"{args.from_file}: not a posture scan result ({exc})") from None
    else:
        from posture.commands._scanning import scan_from_args

        args.fail_on = None
        report, _ = scan_from_args(args)
    document = baseline_document(report)
    from posture.render import write_file

    write_file(Path(args.output), json.dumps(document, indent=2) + "\n")
    waived = sum(1 for f in document["findings"].values() if f.get("status") == "waived")
    note = f" ({waived} only waived: they block again when their waiver ends)" if waived else ""
    sys.stdout.write(f"wrote {args.output}: {len(document['findings'])} known findings{note}\n")
    return 0
