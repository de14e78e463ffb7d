"""posture scan: scan what posture.yaml (or the command line) names and report it."""

from __future__ import annotations

import argparse
from typing import Any


def add_scan_options(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that runs a scan (scan, baseline create, compliance)."""
    p.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="posture.yaml to read (default: ./posture.yaml if present)",
    )
    p.add_argument(
        "--root",
        metavar="DIR",
        help="folder every path in posture.yaml must stay inside (default: the folder holding it)",
    )
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="URL",
        help="storefront URL to scan (repeatable)",
    )
    p.add_argument(
        "--targets-file",
        metavar="FILE",
        help="storefronts listed outside posture.yaml: one URL a line, or CSV with a header "
        "naming name,url,profile,pages",
    )
    p.add_argument(
        "--iac",
        action="append",
        default=[],
        metavar="PATH",
        help="IaC directory or file to scan (repeatable)",
    )
    p.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="FILE",
        help="read another tool's findings as evidence: Prowler's OCSF JSON (repeatable)",
    )
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="ID|AREA",
        help="run only these checks or areas; globs allowed (repeatable)",
    )
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="ID|AREA",
        help="skip these checks or areas (repeatable)",
    )
    p.add_argument(
        "--resolve",
        action="append",
        default=[],
        metavar="HOST:PORT:ADDR",
        help="connect to ADDR for HOST:PORT, keeping the name for SNI and Host, as curl does",
    )
    p.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="extra trusted CA certificates (PEM), added to the public ones",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="timeout of each network operation (default 10)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=8,
        metavar="N",
        help="targets and collectors worked on at once (default 8)",
    )
    p.add_argument(
        "--browser",
        metavar="PATH",
        help="Chromium to drive for the browser checks (default: chromium on PATH)",
    )
    p.add_argument(
        "--no-browser",
        action="store_true",
        help="leave out the checks that visit pages in Chromium (they are then not assessed)",
    )
    p.add_argument(
        "--checks-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="load local check modules from DIR (repeatable)",
    )
    p.add_argument(
        "--waivers",
        action="append",
        default=[],
        metavar="FILE",
        help="waivers file (YAML), in addition to posture.yaml's waivers: (repeatable)",
    )


def register(sub: Any) -> None:
    p = sub.add_parser(
        "scan", help="scan storefronts, IaC, configs and declared controls", description=__doc__
    )
    add_scan_options(p)
    p.add_argument(
        "-f",
        "--format",
        action="append",
        default=[],
        metavar="FMT",
        help="output format, repeatable: terminal (default), json, ... (see README)",
    )
    view = p.add_mutually_exclusive_group()
    view.add_argument(
        "--details",
        dest="view",
        action="store_const",
        const="details",
        help="terminal: list every result (the default for up to 3 targets; beyond, findings "
        "are grouped by check)",
    )
    view.add_argument(
        "--summary",
        dest="view",
        action="store_const",
        const="summary",
        help="terminal: findings grouped by check across targets, whatever their number",
    )
    view.add_argument(
        "-q",
        "--quiet",
        dest="view",
        action="store_const",
        const="quiet",
        help="terminal: print only the verdict line (and no progress display)",
    )
    p.set_defaults(view="auto")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", metavar="FILE", help="write the (single) format to FILE")
    out.add_argument("--output-dir", metavar="DIR", help="write each format to DIR/posture.<ext>")
    p.add_argument(
        "--fail-on",
        metavar="SEVERITY",
        help="exit 1 when a failure at or above this severity exists (default: high)",
    )
    p.add_argument(
        "--baseline", metavar="FILE", help="mark results already in this baseline as existing"
    )
    p.add_argument(
        "--new-only",
        action="store_true",
        help="with --baseline: only new results count for --fail-on",
    )
    p.add_argument(
        "--db",
        metavar="URL",
        help="history database: a path or URL (default $POSTURE_DB, else a SQLite file in the user data dir)",
    )
    p.add_argument(
        "--no-record", action="store_true", help="do not record this scan in the history"
    )
    shard = p.add_argument_group(
        "sharded runs (an estate split over Kubernetes Job pods or CI jobs)"
    )
    shard.add_argument(
        "--shard",
        metavar="K/N",
        help="scan only shard K of N (1-based; default $POSTURE_SHARD); see docs/deploy/",
    )
    shard.add_argument(
        "--shard-count",
        type=int,
        metavar="N",
        help="N shards, this one from $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job; "
        "default $POSTURE_SHARD_COUNT)",
    )
    shard.add_argument(
        "--run-id",
        metavar="ID",
        help="the run the shards belong to (default $POSTURE_RUN_ID, else derived from "
        "$GITHUB_RUN_ID or $POSTURE_JOB_NAME)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posture.commands._scanning import exit_code, scan_from_args
    from posture.errors import PostureError
    from posture.render import check_formats, write_outputs

    check_formats(args.format or ["terminal"], args.output, args.output_dir)
    if args.new_only and not args.baseline:
        from posture.errors import UsageError

        raise UsageError("--new-only needs --baseline FILE")
    from posture.shard import run_id_from, shard_from

    shard = shard_from(args.shard, args.shard_count)
    run_id = run_id_from(args.run_id)
    if shard is not None and run_id is None and not args.no_record:
        from posture.errors import UsageError

        raise UsageError(
            f"--shard {shard}: the shards of a run need a run id to meet in the history: give "
            "--run-id ID (or $POSTURE_RUN_ID), or --no-record"
        )
    failure: PostureError | None = None
    if args.no_record:
        report, fail_on = scan_from_args(args, shard)
    else:
        report, fail_on, failure = _scan_and_record(args, shard, run_id)
    if run_id is not None:
        report.meta["run_id"] = run_id
    write_outputs(
        report,
        args.format or ["terminal"],
        args.output,
        args.output_dir,
        fail_on,
        new_only=args.new_only,
        view=args.view,
    )
    if failure is not None:
        raise failure  # the outputs are written first; then the recording error is reported
    return exit_code(report, fail_on, new_only=args.new_only)


def _scan_and_record(args: argparse.Namespace, shard: Any, run_id: str | None) -> Any:
    """Scan and record; a shard of a run is marked running first, failed if the scan fails."""
    import datetime as dt
    import os
    import signal

    from posture.commands._scanning import scan_from_args
    from posture.errors import PostureError
    from posture.history import History
    from posture.history.store import RunShard

    history = History.open(args.db)  # before scanning: a bad --db is known at once
    run = None
    if run_id is not None:
        run = RunShard(run_id, shard.index if shard else 1, shard.count if shard else 1)

    began = False

    def started(targets: Any) -> None:
        nonlocal began
        if run is not None:
            history.start_shard(run, dt.datetime.now(dt.UTC), len(targets), os.uname().nodename)
            began = True

    previous = signal.getsignal(signal.SIGTERM)
    if run is not None:
        # a deleted pod or a cancelled CI job gets SIGTERM first: say so in the run, then stop
        signal.signal(signal.SIGTERM, _terminated)
    try:
        report, fail_on = scan_from_args(args, shard, started)
    except BaseException as exc:
        if run is not None and began:  # a config error before the start leaves no trace
            history.fail_shard(run, str(exc) or exc.__class__.__name__)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    try:
        scan_id = history.record(report, run)
        report.meta["history"] = {"scan_id": scan_id, "digest": history.digest_of(scan_id)}
    except PostureError as exc:
        return report, fail_on, exc
    return report, fail_on, None


class Terminated(SystemExit):
    def __str__(self) -> str:
        return "terminated by SIGTERM before it finished"


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated(128 + signum)
