"""posture merge: the shards' outputs of one run as one scan.

Give the JSON documents of every shard (``posture scan --shard K/N -f json``) and render them in
any format (SARIF for one code-scanning upload, Markdown for a job summary, ...), or give SARIF
logs and get one SARIF log. Exit status as posture scan (1 failing, 3 errors), and 3 when a
shard of the run is missing from the inputs: the merged output is written, the gap is named.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "merge", help="merge the JSON or SARIF outputs of a sharded run", description=__doc__
    )
    p.add_argument("inputs", nargs="+", metavar="FILE", help="a shard's JSON or SARIF output")
    p.add_argument(
        "-f",
        "--format",
        action="append",
        default=[],
        metavar="FMT",
        help="output format for JSON inputs, repeatable (default terminal); SARIF inputs: sarif",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", metavar="FILE", help="write the (single) format to FILE")
    out.add_argument("--output-dir", metavar="DIR", help="write each format to DIR/posture.<ext>")
    p.add_argument(
        "--fail-on",
        metavar="SEVERITY",
        default="high",
        help="exit 1 when a failure at or above this severity exists (default: high)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from posture.commands._scanning import exit_code
    from posture.errors import UsageError
    from posture.merge import merge_files
    from posture.model import Severity
    from posture.render import check_formats, write_outputs

    try:
        fail_on = Severity.parse(args.fail_on)
    except ValueError as exc:
        raise UsageError(f"--fail-on: {exc}") from None
    merged = merge_files(args.inputs)
    if merged.sarif is not None:
        if set(args.format) - {"sarif"} or args.output_dir:
            raise UsageError("SARIF inputs merge into SARIF only: -f sarif [-o FILE]")
        text = json.dumps(merged.sarif, indent=2) + "\n"
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    formats = args.format or ["terminal"]
    check_formats(formats, args.output, args.output_dir)
    assert merged.report is not None
    write_outputs(merged.report, formats, args.output, args.output_dir, fail_on)
    for problem in merged.problems:
        sys.stderr.write(f"posture: {problem}\n")
    if merged.problems:
        return 3
    return exit_code(merged.report, fail_on)
