"""posture checks list: every registered check, built-in or plugin."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("checks", help="list the registered checks", description=__doc__)
    inner = p.add_subparsers(dest="checks_command", metavar="SUBCOMMAND")
    lst = inner.add_parser("list", help="list checks (id, title, area, severity)")
    lst.add_argument("--format", choices=("terminal", "json"), default="terminal")
    lst.add_argument("--checks-dir", action="append", default=[], metavar="DIR")
    lst.set_defaults(func=run_list)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_list(args: argparse.Namespace) -> int:
    import json
    import sys

    from posture.registry import load_registry

    registry = load_registry(args.checks_dir)
    specs = registry.sorted_checks()
    if args.format == "json":
        payload = [spec.to_dict() for spec in specs]
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return 0
    width = max((len(s.id) for s in specs), default=10)
    for spec in specs:
        sys.stdout.write(
            f"{spec.id:<{width}}  {spec.area.value:<10} {spec.severity.value:<8} {spec.title}\n"
        )
    sys.stdout.write(f"{len(specs)} checks\n")
    return 0
