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
        "--target",
        action="append",
        default=[],
        metavar="URL",
        help="storefront URL to scan (repeatable)",
    )
    p.add_argument(
        "--iac",
        action="append",
        default=[],
        metavar="PATH",
        help="IaC directory or file to scan (repeatable)",
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posture.commands._scanning import exit_code, scan_from_args
    from posture.render import check_formats, write_outputs

    check_formats(args.format or ["terminal"], args.output, args.output_dir)
    if args.new_only and not args.baseline:
        from posture.errors import UsageError

        raise UsageError("--new-only needs --baseline FILE")
    report, fail_on = scan_from_args(args)
    if not args.no_record:
        from posture.history import History

        report.meta["history"] = {"scan_id": History.open(args.db).record(report)}
    write_outputs(report, args.format or ["terminal"], args.output, args.output_dir, fail_on)
    return exit_code(report, fail_on, new_only=args.new_only)
