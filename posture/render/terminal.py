"""Terminal view: what needs attention first, grouped by area and severity; passes summarised."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, TextIO

from posture.model import Result, Severity, Status
from posture.scanreport import ScanReport

if TYPE_CHECKING:
    from posture.render import RenderContext

EXTENSION = "txt"

_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_STATUS_ORDER = {
    Status.FAIL: 0,
    Status.ERROR: 1,
    Status.SKIPPED: 2,
    Status.WAIVED: 3,
    Status.PASS: 4,
}


def render(report: ScanReport, ctx: RenderContext) -> str:
    buffer = io.StringIO()
    print_report(
        report, ctx.fail_on, buffer, color=False, width=ctx.width or 120, new_only=ctx.new_only
    )
    return buffer.getvalue()


def _where(result: Result) -> str:
    if result.location is not None:
        where = str(result.location)
    else:
        where = result.target
    if result.resource:
        where += f" [{result.resource}]"
    if result.origin is not None:
        where += f" {result.origin}"
    return where


def print_report(
    report: ScanReport,
    fail_on: Severity,
    stream: TextIO,
    color: bool | None = None,
    width: int | None = None,
    new_only: bool = False,
) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    if width is None and not stream.isatty():
        width = 120  # pipes and CI logs: rich would assume 80 columns
    console = Console(
        file=stream,
        force_terminal=color,
        no_color=color is False,
        width=width,
        highlight=False,
        soft_wrap=False,
    )
    shown = [r for r in report.results if r.status is not Status.PASS]
    by_area: dict[str, list[Result]] = defaultdict(list)
    for result in shown:
        by_area[result.area.value].append(result)
    passes = Counter(r.area.value for r in report.results if r.status is Status.PASS)

    for area in sorted(set(by_area) | set(passes)):
        items = sorted(
            by_area.get(area, []),
            key=lambda r: (_STATUS_ORDER[r.status], -r.severity.rank, r.check_id, _where(r)),
        )
        heading = Text(f"{area.upper()}", style="bold")
        heading.append(f"  {len(items)} to review, {passes.get(area, 0)} passed", style="dim")
        console.print(heading)
        if not items:
            continue
        table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 1), expand=False)
        table.add_column("sev", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("check", no_wrap=True)
        table.add_column("what", overflow="fold")
        for r in _collapse_errors(items):
            style = _SEVERITY_STYLE[r.severity] if r.status is Status.FAIL else "dim"
            what = Text(r.title, style="bold" if r.status is Status.FAIL else "")
            if r.message:
                what.append(f" - {r.message}")
            what.append(f"\n  {_where(r)}", style="dim")
            if r.waiver is not None:
                what.append(f"\n  waived: {r.waiver.reason}", style="dim")
                if r.waiver.expires:
                    what.append(f" (until {r.waiver.expires})", style="dim")
            if r.baseline == "existing":
                what.append("  [in baseline]", style="dim")
            table.add_row(
                Text(r.severity.value.upper(), style=style),
                Text(r.status.value, style="dim" if r.status is not Status.FAIL else style),
                Text(r.check_id),
                what,
            )
        console.print(table)
        console.print()

    counts = Counter(r.status for r in report.results)
    failing = Counter(r.severity for r in report.results if r.status is Status.FAIL)
    parts = [f"{len(report.results)} results"]
    parts.append(
        "failed: "
        + (", ".join(f"{failing[s]} {s.value}" for s in Severity if failing[s]) or "none")
    )
    for status in (Status.ERROR, Status.SKIPPED, Status.WAIVED, Status.PASS):
        if counts[status]:
            parts.append(
                f"{counts[status]} {status.value if status is not Status.ERROR else 'errors'}"
            )
    blocking = len(report.blocking(fail_on, new_only))
    scope = " (new only)" if new_only else ""
    if blocking:
        verdict = Text(f"FAIL: {blocking} at or above {fail_on.value}{scope}", style="bold red")
    elif report.errors():
        verdict = Text(
            f"INCOMPLETE: nothing failing at or above {fail_on.value}{scope}, "
            f"{len(report.errors())} not assessed",
            style="bold yellow",
        )
    else:
        verdict = Text(
            f"OK: nothing failing at or above {fail_on.value}{scope}", style="bold green"
        )
    line = Text(" | ".join(parts) + " | ")
    line.append(verdict)
    elapsed = (report.finished_at - report.started_at).total_seconds()
    line.append(f" ({len(report.targets)} targets, {elapsed:.1f} s)", style="dim")
    console.print(line)
    for warning in report.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))


def _collapse_errors(items: list[Result]) -> list[Result]:
    """One line for the many checks a single unreachable target turned into errors."""
    out: list[Result] = []
    seen: dict[tuple[str, str], Result] = {}
    counts: Counter[tuple[str, str]] = Counter()
    for r in items:
        if r.status is Status.ERROR and r.message.startswith("could not collect"):
            key = (r.target, r.message)
            counts[key] += 1
            if key in seen:
                continue
            seen[key] = r
        out.append(r)
    merged = []
    for r in out:
        key = (r.target, r.message)
        if key in seen and counts[key] > 1 and seen[key] is r:
            r = r.with_(
                check_id=f"{counts[key]} checks",
                title="target could not be assessed",
            )
        merged.append(r)
    return merged
