"""Markdown for the GitHub job summary and the pull-request comment.

Sized to fit: a PR comment holds 65,536 characters and $GITHUB_STEP_SUMMARY 1 MiB, so the
report stops adding findings before MAX_CHARS and says how many it left out. The first line is a
hidden marker the Action uses to update its comment in place instead of adding a new one.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from posture.model import Result, Severity, Status
from posture.render._common import findings, mask, screenshots
from posture.sanitize import clean_text
from posture.scanreport import ScanReport

if TYPE_CHECKING:
    from posture.render import RenderContext

EXTENSION = "md"
MARKER = "<!-- posture-report -->"
MAX_CHARS = 60_000
TOP = 25
_ICON = {
    Severity.CRITICAL: "🟥",
    Severity.HIGH: "🟧",
    Severity.MEDIUM: "🟨",
    Severity.LOW: "🟦",
    Severity.INFO: "⬜",
}


def _cell(text: str) -> str:
    """Text from outside (a header, a certificate, a file name, a waiver reason) as a code span:
    nothing inside one becomes a link, an image, HTML or an @-mention in the PR comment."""
    return code_span(clean_text(mask(text))[:300]).replace("|", "\\|")


def code_span(text: str) -> str:
    """``text`` as one inline code span, fenced by more backticks than it contains in a row."""
    text = " ".join(text.split())
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _where(r: Result) -> str:
    where = str(r.location) if r.location else r.target
    text = _cell(where) + (f" ({_cell(r.resource)})" if r.resource else "")
    return text + (f" {_cell(str(r.origin))}" if r.origin is not None else "")


def _summary(report: ScanReport, fail_on: Severity, new_only: bool = False) -> list[str]:
    fails = Counter(r.severity for r in report.results if r.status is Status.FAIL)
    new = Counter(
        r.severity for r in report.results if r.status is Status.FAIL and r.baseline == "new"
    )
    statuses = Counter(r.status for r in report.results)
    blocking = len(report.blocking(fail_on, new_only))
    scope = " (new only)" if new_only else ""
    if blocking:
        verdict = f"**FAIL**: {blocking} finding(s) at or above **{fail_on.value}**{scope}"
    elif report.errors():
        verdict = (
            f"**INCOMPLETE**: nothing failing at or above **{fail_on.value}**{scope}, but "
            f"{len(report.errors())} result(s) could not be assessed"
        )
    else:
        verdict = f"**PASS**: nothing failing at or above **{fail_on.value}**{scope}"
    lines = [MARKER, "## posture security posture scan", "", verdict, ""]
    show_new = any(r.baseline for r in report.results)
    lines.append("| severity | failing" + (" | new" if show_new else "") + " |")
    lines.append("| --- | ---:" + (" | ---:" if show_new else "") + " |")
    for s in Severity:
        lines.append(
            f"| {_ICON[s]} {s.value} | {fails[s]}" + (f" | {new[s]}" if show_new else "") + " |"
        )
    lines.append("")
    lines.append(
        f"{len(report.results)} results on {len(report.targets)} targets: "
        f"{statuses[Status.PASS]} passed, {statuses[Status.WAIVED]} waived, "
        f"{statuses[Status.ERROR]} errors, {statuses[Status.SKIPPED]} could not be tested."
    )
    lines.append("")
    return lines


def _findings(report: ScanReport, budget: int) -> list[str]:
    rows = [r for r in findings(report.results) if r.status is Status.FAIL]
    if not rows:
        return []
    lines = ["### Top findings", "", "| | check | where | what |", "| --- | --- | --- | --- |"]
    used = sum(len(x) + 1 for x in lines)
    shown = 0
    for r in rows[:TOP]:
        badge = " 🆕" if r.baseline == "new" else ""
        shots = " ".join(f"[screenshot]({shot})" for shot in screenshots(r)[:2])
        what = f"{_cell(r.title)}: {_cell(r.message)}" if r.message else _cell(r.title)
        what += f" {shots}" if shots else ""
        line = f"| {_ICON[r.severity]}{badge} | `{r.check_id}` | {_where(r)} | {what} |"
        if used + len(line) + 1 > budget:
            break
        lines.append(line)
        used += len(line) + 1
        shown += 1
    if shown < len(rows):
        lines.append("")
        lines.append(f"_{len(rows) - shown} more findings are in the SARIF and JSON outputs._")
    lines.append("")
    return lines


def _obligations(report: ScanReport) -> list[str]:
    try:
        from posture.compliance import load_frameworks, matrices_for_report
        from posture.render._matrix import counts
    except ImportError:  # pragma: no cover - the compliance data ships with posture
        return []
    lines = [
        "### Obligations at risk",
        "",
        "| framework | failing | at risk | accepted risk | not assessed | declared, not verified "
        "| partial evidence | met | not applicable |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    details: list[str] = []
    for m in matrices_for_report(report, list(load_frameworks())):
        c = counts(m.rows)
        lines.append(
            f"| {m.framework.name} | {c['failing']} | {c['at risk']} | {c['accepted risk']} "
            f"| {c['not assessed']} | {c['declared, not verified']} "
            f"| {c['no failures found (partial evidence)']} | {c['met']} | {c['not applicable']} |"
        )
        for row in m.rows:
            if row.status.value == "failing":
                checks = sorted({r.check_id for r in row.results if r.status is Status.FAIL})
                details.append(
                    f"- **{row.obligation.id}** [{row.obligation.citation}]({row.obligation.url}) "
                    f"{row.obligation.title}: {', '.join(checks[:5])}"
                )
    lines.append("")
    if details:
        lines += [
            "<details><summary>Failing obligations</summary>",
            "",
            *details,
            "",
            "</details>",
            "",
        ]
    return lines


def _waivers(report: ScanReport) -> list[str]:
    waived = [r for r in report.results if r.status is Status.WAIVED and r.waiver]
    lines: list[str] = []
    if waived:
        lines += [
            "### Waived",
            "",
            "| check | where | reason | approver | expires |",
            "| --- | --- | --- | --- | --- |",
        ]
        for r in waived[:50]:
            assert r.waiver is not None
            lines.append(
                f"| `{r.check_id}` | {_where(r)} | {_cell(r.waiver.reason)} | "
                f"{_cell(r.waiver.approver or '')} | {_cell(r.waiver.expires or '')} |"
            )
        lines.append("")
    if report.warnings:
        lines += ["### Warnings", ""] + [f"- {_cell(w)}" for w in report.warnings[:30]] + [""]
    return lines


def render(report: ScanReport, ctx: RenderContext) -> str:
    head = _summary(report, ctx.fail_on, ctx.new_only)
    tail = _obligations(report) + _waivers(report)
    budget = MAX_CHARS - sum(len(x) + 1 for x in head + tail) - 200
    text = "\n".join(head + _findings(report, max(budget, 2000)) + tail)
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 80] + "\n\n_Report cut to fit a pull-request comment._\n"
    return text + "\n"
