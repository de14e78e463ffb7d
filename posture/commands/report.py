"""posture report: the quarterly audit report from the scan history (HTML, PDF, JSON, Markdown,
OSCAL), optionally signed with an Ed25519 key from `posture keygen`.

Exit status 3 when a run in the period is incomplete (a shard missing, failed or killed): the
report is written, says so at the top, and the exit status keeps CI from taking it as whole."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="quarterly report from the scan history", description=__doc__)
    p.add_argument(
        "--db", metavar="URL", help="history database (default $POSTURE_DB, else the user data dir)"
    )
    p.add_argument("--period", required=True, metavar="YYYY-QN", help="the quarter, e.g. 2026-Q4")
    p.add_argument(
        "--compare", metavar="YYYY-QN", help="the quarter to compare with (default: the one before)"
    )
    p.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="posture.yaml whose declarations decide applicability (no transfers, no sale, "
        "controls.business for the CCPA cybersecurity audit)",
    )
    p.add_argument("--format", default="html", choices=("html", "pdf", "json", "md", "oscal"))
    p.add_argument("-o", "--output", metavar="FILE", help="default posture-report-<period>.<ext>")
    p.add_argument(
        "--sign",
        metavar="KEY",
        help="private key from 'posture keygen': write FILE.sig beside the report",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from posture.history import History
    from posture.reporting.formats import write
    from posture.reporting.model import Period, build_report

    period = Period.parse(args.period)
    compare = Period.parse(args.compare) if args.compare else None
    declared = None
    if args.config:
        from posture.compliance import declarations
        from posture.config import load_config
        from posture.engine import load_policy

        config = load_config(Path(args.config))
        declared = declarations(config, load_policy(config))
    report = build_report(History.open(args.db), period, compare, declared)
    mismatched = report["integrity"]["mismatched_scans"]
    if args.sign and mismatched:
        from posture.reporting.signing import VerificationFailed

        raise VerificationFailed(
            f"refusing to sign: the stored results of scan(s) {', '.join(map(str, mismatched))} "
            "no longer match the digest recorded with them (the history was changed)"
        )
    ext = {"oscal": "oscal.json", "md": "md"}.get(args.format, args.format)
    output = Path(args.output or f"posture-report-{period.name}.{ext}")
    write(report, args.format, output)
    sys.stdout.write(f"wrote {output}\n")
    if mismatched:
        sys.stderr.write(
            f"posture: warning: scan(s) {', '.join(map(str, mismatched))} changed since they "
            "were recorded (digest mismatch); the report flags them\n"
        )
    if args.sign:
        from posture.reporting.signing import sign

        sig = sign(output, Path(args.sign), report["evidence"])
        sys.stdout.write(f"signed: {sig}\n")
    for run in report["incomplete_runs"]:
        done = f"{len(run['completed'])} of {run['shards']} shards completed"
        sys.stderr.write(f"posture: incomplete run {run['run_id']} ({done}):\n")
        for problem in run["problems"]:
            sys.stderr.write(f"  {problem}\n")
    return 3 if report["incomplete_runs"] else 0
