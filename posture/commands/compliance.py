"""posture compliance: the GDPR / CCPA / PCI DSS obligation matrix of a scan.

Per obligation: failing (a failing result maps to it), at risk (only low/info failures, or
errors), met (every mapped check ran and passed), not assessed (no mapped check ran, or not all).
"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    from posture.commands.scan import add_scan_options

    p = sub.add_parser(
        "compliance", help="obligation matrix (GDPR, CCPA, PCI DSS)", description=__doc__
    )
    add_scan_options(p)
    p.add_argument(
        "--from",
        dest="from_file",
        metavar="FILE",
        help="read a saved scan (JSON) instead of scanning",
    )
    p.add_argument(
        "--framework",
        action="append",
        default=[],
        metavar="ID",
        help="gdpr, ccpa, pci-dss (repeatable; default all)",
    )
    p.add_argument("--format", choices=("terminal", "json", "md"), default="terminal")
    p.add_argument("-o", "--output", metavar="FILE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from posture.compliance import load_frameworks, obligation_matrix
    from posture.errors import UsageError
    from posture.render import _matrix
    from posture.scanreport import ScanReport

    frameworks = load_frameworks()
    wanted = args.framework or list(frameworks)
    for fw in wanted:
        if fw not in frameworks:
            raise UsageError(f"--framework {fw}: unknown (known: {', '.join(frameworks)})")
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
    from posture.compliance import apply_obligations

    results = apply_obligations(report.results)
    matrices = [
        (frameworks[fw], obligation_matrix(results, fw, report.checks or None)) for fw in wanted
    ]
    render = {"json": _matrix.as_json, "md": _matrix.as_markdown, "terminal": _matrix.as_terminal}
    text = render[args.format](matrices)
    if args.output:
        from posture.render import write_file

        write_file(Path(args.output), text)
    else:
        sys.stdout.write(text)
    failing = any(row.status.value == "failing" for _, rows in matrices for row in rows)
    return 1 if failing else 0
