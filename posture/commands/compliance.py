"""posture compliance: the obligation matrices of a scan (GDPR, CCPA, PCI DSS, and the CCPA
cybersecurity audit's components).

Statuses (defined in posture/compliance.py, explained in docs/compliance.md): failing, at risk,
accepted risk (waived failures), not applicable (a declaration takes the business out of scope),
not assessed (an expected check did not run, was out of the scan's scope or skipped), declared,
not verified; no failures found (partial evidence); met (every expected check passed on observed
or attested evidence, and the checks cover the whole duty).
"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    from posture.commands.scan import add_scan_options

    p = sub.add_parser(
        "compliance",
        help="obligation matrix (GDPR, CCPA, PCI DSS, CCPA cybersecurity audit)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        help="gdpr, ccpa, pci-dss, ccpa-cyber-audit (repeatable; default all)",
    )
    p.add_argument("--format", choices=("terminal", "json", "md"), default="terminal")
    p.add_argument(
        "--evidence", action="store_true", help="terminal: list every expected check per row"
    )
    p.add_argument("-o", "--output", metavar="FILE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from posture.compliance import load_frameworks, matrices_for_report
    from posture.errors import UsageError
    from posture.render import _matrix
    from posture.scanreport import ScanReport

    frameworks = load_frameworks()
    wanted = args.framework or list(frameworks)
    for fw in wanted:
        if fw not in frameworks:
            raise UsageError(f"--framework {fw}: unknown (known: {', '.join(frameworks)})")
    if args.from_file:
        try:
            report = ScanReport.from_dict(
                json.loads(Path(args.from_file).read_text(encoding="utf-8"))
            )
        except (OSError, ValueError, KeyError) as exc:
            raise UsageError(f"{args.from_file}: not a posture scan result ({exc})") from None
    else:
        from posture.commands._scanning import scan_from_args

        args.fail_on = None
        report, _ = scan_from_args(args)
    matrices = matrices_for_report(report, wanted)
    if args.format == "json":
        text = _matrix.as_json(matrices)
    elif args.format == "md":
        text = _matrix.as_markdown(matrices)
    else:
        text = _matrix.as_terminal(matrices, verbose=args.evidence)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    failing = any(row.status.value == "failing" for m in matrices for row in m.rows)
    return 1 if failing else 0
