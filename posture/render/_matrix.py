"""The obligation matrix as text: terminal, Markdown and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from posture.compliance import Framework, MatrixRow, MatrixStatus

_ORDER = {
    MatrixStatus.FAILING: 0,
    MatrixStatus.AT_RISK: 1,
    MatrixStatus.NOT_ASSESSED: 2,
    MatrixStatus.MET: 3,
}


def counts(rows: Sequence[MatrixRow]) -> dict[str, int]:
    out = {s.value: 0 for s in MatrixStatus}
    for row in rows:
        out[row.status.value] += 1
    return out


def as_json(matrices: Sequence[tuple[Framework, Sequence[MatrixRow]]]) -> str:
    payload: dict[str, Any] = {
        "frameworks": [
            {
                "id": fw.id,
                "name": fw.name,
                "version": fw.version,
                "summary": counts(rows),
                "obligations": [row.to_dict() for row in rows],
            }
            for fw, rows in matrices
        ]
    }
    return json.dumps(payload, indent=2) + "\n"


def _failing_checks(row: MatrixRow, limit: int = 4) -> str:
    ids = sorted({r.check_id for r in row.results if r.status.value in ("fail", "error")})
    text = ", ".join(ids[:limit])
    return text + (f" +{len(ids) - limit}" if len(ids) > limit else "")


def as_markdown(matrices: Sequence[tuple[Framework, Sequence[MatrixRow]]]) -> str:
    out: list[str] = []
    for fw, rows in matrices:
        c = counts(rows)
        out.append(f"### {fw.name}\n")
        out.append(
            f"{c['failing']} failing, {c['at risk']} at risk, {c['met']} met, "
            f"{c['not assessed']} not assessed ({fw.version})\n"
        )
        out.append("| obligation | citation | status | checks behind it |")
        out.append("| --- | --- | --- | --- |")
        for row in sorted(rows, key=lambda r: (_ORDER[r.status], r.obligation.id)):
            waived = f" ({len(row.waived)} waived)" if row.waived else ""
            out.append(
                f"| {row.obligation.title} | [{row.obligation.citation}]({row.obligation.url}) "
                f"| {row.status.value}{waived} | {_failing_checks(row) or len(row.checks_run)} |"
            )
        out.append("")
    return "\n".join(out)


def as_terminal(matrices: Sequence[tuple[Framework, Sequence[MatrixRow]]]) -> str:
    out: list[str] = []
    for fw, rows in matrices:
        c = counts(rows)
        out.append(f"{fw.name} ({fw.version})")
        out.append(
            f"  {c['failing']} failing, {c['at risk']} at risk, {c['met']} met, "
            f"{c['not assessed']} not assessed"
        )
        for row in sorted(rows, key=lambda r: (_ORDER[r.status], r.obligation.id)):
            detail = _failing_checks(row)
            if row.status is MatrixStatus.NOT_ASSESSED and row.expected_checks:
                detail = f"{len(row.checks_run)} of {len(row.expected_checks)} checks ran"
            elif row.status is MatrixStatus.MET:
                detail = f"{len(row.checks_run)} checks passed"
            if row.waived:
                detail += f"; {len(row.waived)} waived"
            out.append(
                f"  {row.status.value.upper():<13} {row.obligation.id:<16} "
                f"{row.obligation.citation:<34} {row.obligation.title}"
                + (f"\n  {'':<13} {'':<16} {detail}" if detail else "")
            )
        out.append("")
    return "\n".join(out)
