"""The obligation matrix as text: terminal, Markdown and JSON. Every status, coverage label,
evidence source, applicability declaration, exposure and accepted risk is shown in each."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from posture.compliance import (
    FrameworkMatrix,
    MatrixRow,
    MatrixStatus,
    status_counts,
    waiver_line,
)
from posture.render._common import mask

_ORDER = {
    MatrixStatus.FAILING: 0,
    MatrixStatus.AT_RISK: 1,
    MatrixStatus.ACCEPTED_RISK: 2,
    MatrixStatus.NOT_ASSESSED: 3,
    MatrixStatus.DECLARED: 4,
    MatrixStatus.PARTIAL: 5,
    MatrixStatus.MET: 6,
    MatrixStatus.NOT_APPLICABLE: 7,
}


def counts(rows: Sequence[MatrixRow]) -> dict[str, int]:
    return status_counts(rows)


def summary_line(rows: Sequence[MatrixRow]) -> str:
    c = counts(rows)
    return ", ".join(f"{n} {s}" for s, n in c.items() if n)


def ordered(rows: Sequence[MatrixRow]) -> list[MatrixRow]:
    return sorted(rows, key=lambda r: (_ORDER[r.status], r.obligation.id))


def applicability_line(m: FrameworkMatrix) -> str | None:
    a = m.applicability
    if a is None:
        return None
    applies = {True: "applies", False: "does not apply", None: "applicability unknown"}[
        a.get("applies")
    ]
    due = f"; first certification due {a['first_due']}" if a.get("first_due") else ""
    return _clean(f"{applies}: {a.get('because', '')}{due} [{a.get('source', '')}]")


def as_json(matrices: Sequence[FrameworkMatrix]) -> str:
    payload: dict[str, Any] = {
        "statuses": [s.value for s in MatrixStatus],
        "frameworks": [m.to_dict() for m in matrices],
    }
    return json.dumps(payload, indent=2) + "\n"


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _clean(text: str) -> str:
    """External text (messages from storefronts and files, waiver reasons): card numbers and
    secrets masked, control characters (terminal escapes) dropped."""
    return _CONTROL.sub("", mask(str(text)))


def _md(text: str) -> str:
    return _clean(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def row_details(row: MatrixRow) -> list[str]:
    """Lines that explain a row: applicability, exposure, accepted risks, per-check evidence."""
    out = []
    if row.exposure:
        out.append(row.exposure)
    for r in row.waived:
        out.append("accepted risk: " + waiver_line(r))
    return out


def as_markdown(matrices: Sequence[FrameworkMatrix]) -> str:
    out: list[str] = []
    for m in matrices:
        fw = m.framework
        out.append(f"### {fw.name}\n")
        out.append(f"{summary_line(m.rows)} ({fw.version})\n")
        line = applicability_line(m)
        if line:
            out.append(f"**Applicability:** {_md(line)}\n")
        out.append("| obligation | citation | status | coverage | evidence | why |")
        out.append("| --- | --- | --- | --- | --- | --- |")
        for row in ordered(m.rows):
            why = "; ".join([row.reason, *row_details(row)])
            kind = " (exposure)" if row.obligation.kind == "exposure" else ""
            out.append(
                f"| {_md(row.obligation.title)}{kind} | [{_md(row.obligation.citation)}]"
                f"({row.obligation.url}) | {row.status.value} | {row.coverage.level} "
                f"| {', '.join(row.evidence_sources) or '-'} | {_md(why)} |"
            )
        out.append("")
    return "\n".join(out)


def as_terminal(matrices: Sequence[FrameworkMatrix], verbose: bool = False) -> str:
    out: list[str] = []
    for m in matrices:
        fw = m.framework
        out.append(f"{fw.name} ({fw.version})")
        out.append(f"  {summary_line(m.rows)}")
        line = applicability_line(m)
        if line:
            out.append(f"  {line}")
        for row in ordered(m.rows):
            sources = ", ".join(row.evidence_sources) or "no evidence"
            kind = " (exposure)" if row.obligation.kind == "exposure" else ""
            out.append(
                f"  {row.status.value.upper():<37} {row.obligation.id:<18} "
                f"{row.obligation.citation:<34} {row.obligation.title}{kind}"
            )
            pad = " " * 39
            out.append(f"{pad}coverage {row.coverage.level}; evidence: {sources}")
            if row.reason:
                out.append(f"{pad}{_clean(row.reason)}")
            for detail in row_details(row):
                out.append(f"{pad}{_clean(detail)}")
            if verbose:
                for e in row.evidence:
                    out.append(f"{pad}  {e.check_id}: {_clean(e.label)}")
        out.append("")
    return "\n".join(out)
