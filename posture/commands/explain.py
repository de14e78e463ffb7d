"""posture explain CHECK_ID: what a check looks for, why it matters and how to fix it."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("explain", help="explain one check", description=__doc__)
    p.add_argument("check_id", metavar="CHECK_ID")
    p.add_argument("--checks-dir", action="append", default=[], metavar="DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    import textwrap

    from posture.errors import UsageError
    from posture.registry import load_registry

    registry = load_registry(args.checks_dir)
    wanted = args.check_id.lower()
    spec = next((s for s in registry.checks.values() if s.id.lower() == wanted), None)
    if spec is None:
        close = [s.id for s in registry.checks.values() if wanted in s.id.lower()][:5]
        hint = f" (did you mean: {', '.join(close)}?)" if close else ""
        raise UsageError(f"no check with id {args.check_id!r}{hint}")
    out = [
        f"{spec.id}: {spec.title}",
        f"area: {spec.area.value}   severity: {spec.severity.value}   "
        f"target: {spec.target.value}   from: {spec.source}",
        "",
    ]
    if spec.description:
        out += [textwrap.fill(spec.description, 96), ""]
    if spec.remediation:
        out += ["How to fix:", textwrap.indent(textwrap.fill(spec.remediation, 92), "  "), ""]
    if spec.references:
        out += ["References:"] + [f"  {ref}" for ref in spec.references] + [""]
    from posture.compliance import all_obligations, load_mapping

    mapping = load_mapping()
    obligations = all_obligations()
    entries = mapping.entries_for(spec.id, spec.area.value)
    if spec.id in mapping.not_relevant:
        out += [f"Not privacy-relevant: {mapping.not_relevant[spec.id]}", ""]
    elif entries:
        out.append("Obligations at risk when this check fails:")
        for entry in entries:
            ob = obligations[entry.obligation]
            out.append(f"  {ob.id}  {ob.citation}: {ob.title}")
            if entry.conditions:
                out.append(f"      only for: {entry.conditions}")
            out.append(textwrap.indent(textwrap.fill(f"why: {entry.rationale}", 88), "      "))
        out.append("")
    else:
        out += ["Obligations: none mapped.", ""]
    sys.stdout.write("\n".join(out))
    return 0
