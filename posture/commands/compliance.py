"""posture compliance: the obligation matrices of a scan (GDPR, CCPA, PCI DSS, and the CCPA
cybersecurity audit's components).

Statuses (defined in posture/compliance.py, explained in docs/compliance.md): failing, at risk,
accepted risk (waived failures), not applicable (a declaration takes the business out of scope),
not assessed (an expected check did not run, was out of the scan's scope or skipped), declared,
not verified; no failures found (partial evidence); met (every expected check passed on observed
or attested evidence, and the checks cover the whole duty).

--from-db reads the history instead of scanning: the latest run (or --run-id's), all its shards
together. A run with a shard missing, failed or killed is named on stderr, carried in the JSON,
and exits 3 (before 1 for a failing obligation): never a silently partial matrix.
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
        "--from-db",
        action="store_true",
        help="read the latest run (all its shards) from the history database instead of scanning",
    )
    p.add_argument("--db", metavar="URL", help="with --from-db: the history database")
    p.add_argument("--run-id", metavar="ID", help="with --from-db: this run, not the latest")
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
    incomplete: list[str] = []
    run_info: dict[str, Any] | None = None
    if args.from_file and args.from_db:
        raise UsageError("--from FILE and --from-db: give one of them")
    if args.run_id and not args.from_db:
        raise UsageError("--run-id needs --from-db")
    if args.from_db:
        report, run_info = _from_db(args)
        incomplete = run_info.get("problems", []) if run_info else []
    elif args.from_file:
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
    matrices = matrices_for_report(report, wanted)
    if args.format == "json":
        text = _matrix.as_json(matrices)
    elif args.format == "md":
        text = _matrix.as_markdown(matrices)
    else:
        text = _matrix.as_terminal(matrices, verbose=args.evidence)
    if run_info is not None and args.format == "json":
        text = json.dumps({**json.loads(text), "run": run_info}, indent=2) + "\n"
    if args.output:
        from posture.render import write_file

        write_file(Path(args.output), text)
    else:
        sys.stdout.write(text)
    failing = any(row.status.value == "failing" for m in matrices for row in m.rows)
    if incomplete and run_info is not None:
        sys.stderr.write(
            f"posture: run {run_info['run_id']} is incomplete; this matrix covers only the "
            "shards that completed:\n"
        )
        for problem in incomplete:
            sys.stderr.write(f"  {problem}\n")
    return 3 if incomplete else 1 if failing else 0


def _from_db(args: argparse.Namespace) -> tuple[Any, dict[str, Any] | None]:
    """The results of the latest run (or --run-id's), else of the latest scan when no run exists."""
    import datetime as dt

    from posture.errors import UsageError
    from posture.history import History
    from posture.scanreport import ScanReport

    history = History.open(args.db)
    run = history.run_status(args.run_id) if args.run_id else history.latest_run()
    if args.run_id and run is None:
        raise UsageError(f"--run-id {args.run_id}: no such run in the history")
    if run is not None:
        rows = history.scans_of(run.scan_ids)
    else:
        rows = history.scans_between(None, dt.datetime.now(dt.UTC) + dt.timedelta(days=1))[-1:]
    if not rows:
        raise UsageError("the history holds no scan to read (run posture scan first)")
    loaded = history.results_of([row.id for row in rows])
    checks: dict[str, str] = {}
    for row in rows:
        checks.update(row.checks or {})
    report = ScanReport(
        results=[r for row in rows for r in loaded[row.id]],
        targets=[],
        started_at=min(row.started_at for row in rows),
        finished_at=max(row.finished_at for row in rows),
        checks=checks,
    )
    return report, run.to_dict() if run is not None else None
