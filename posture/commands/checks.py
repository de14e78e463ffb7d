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

    from posture.compliance import load_mapping
    from posture.registry import load_registry

    registry = load_registry(args.checks_dir)
    mapping = load_mapping()
    specs = registry.sorted_checks()
    if args.format == "json":
        payload = []
        for spec in specs:
            item = spec.to_dict()
            item["obligations"] = list(mapping.obligations_for(spec.id, spec.area.value))
            if spec.id in mapping.not_relevant:
                item["not_relevant"] = mapping.not_relevant[spec.id]
            payload.append(item)
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return 0
    width = max((len(s.id) for s in specs), default=10)
    unmapped = 0
    for spec in specs:
        count = len(mapping.obligations_for(spec.id, spec.area.value))
        if count:
            mapped = f"{count} obligations"
        elif spec.id in mapping.not_relevant:
            mapped = "not privacy-relevant"
        else:
            mapped = "UNMAPPED"
            unmapped += 1
        sys.stdout.write(
            f"{spec.id:<{width}}  {spec.area.value:<10} {spec.severity.value:<8} "
            f"{mapped:<20} {spec.title}\n"
        )
    sys.stdout.write(f"{len(specs)} checks")
    if unmapped:
        sys.stdout.write(
            f"; {unmapped} map to no obligation (plugins can add entries to the mapping)"
        )
    sys.stdout.write("\n")
    return 0
