"""Terminal view, in three sizes.

- *summary* (the default beyond a few targets): findings grouped by check across targets, worst
  first (severity, then how many targets fail), then the targets with the most serious failures,
  then the totals and the verdict. Its length grows with the number of distinct checks, not with
  the number of targets: 300 storefronts failing the same check are one entry.
- *details* (the default for up to ``DETAILS_UP_TO`` targets, or ``--details``): every result
  that needs attention, grouped by area and severity; passes summarised.
- *quiet* (``-q``): the verdict line only.

Errors are one line per target and cause; warnings one line per cause with a count.
"""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TextIO

from posture.model import Result, Severity, Status, TargetKind
from posture.scanreport import ScanReport

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from posture.render import RenderContext

EXTENSION = "txt"
View = Literal["auto", "summary", "details", "quiet"]
VIEWS: tuple[View, ...] = ("auto", "summary", "details", "quiet")
DETAILS_UP_TO = 3  # targets: at most this many, the default view lists every result
WORST_TARGETS = 5
ERROR_CAUSES = 10  # the summary lists the causes that reach most targets; --details has all

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
_NOUN = {
    TargetKind.STOREFRONT: ("storefront", "storefronts"),
    TargetKind.IAC: ("IaC tree", "IaC trees"),
    TargetKind.CONFIG: ("config file", "config files"),
    TargetKind.CONTROLS: ("controls declaration", "controls declarations"),
    TargetKind.REPOSITORY: ("repository", "repositories"),
    TargetKind.CLOUD: ("cloud account", "cloud accounts"),
    TargetKind.IMPORT: ("imported findings file", "imported findings files"),
    TargetKind.SCAN: ("scan", "scans"),
}


def render(report: ScanReport, ctx: RenderContext) -> str:
    buffer = io.StringIO()
    view: View = ctx.view if ctx.view in VIEWS else "auto"
    print_report(
        report,
        ctx.fail_on,
        buffer,
        color=False,
        width=ctx.width or 120,
        view=view,
        new_only=ctx.new_only,
    )
    return buffer.getvalue()


def choose_view(report: ScanReport, view: View = "auto") -> View:
    """``auto`` is the per-result view for a few targets and the grouped summary beyond."""
    if view != "auto":
        return view
    assessed = [t for t in report.targets if t.kind is not TargetKind.SCAN]
    return "details" if len(assessed) <= DETAILS_UP_TO else "summary"


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
    view: View = "auto",
    new_only: bool = False,
) -> None:
    from rich.console import Console

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
    chosen = choose_view(report, view)
    if chosen == "quiet":
        console.print(_verdict(report, fail_on, totals=True, new_only=new_only), soft_wrap=True)
        return
    if chosen == "details":
        _print_details(report, console)
    else:
        _print_summary(report, console)
    console.print(_verdict(report, fail_on, totals=True, new_only=new_only), soft_wrap=True)
    for line in warning_lines(report.warnings):
        console.print(_text(line, "yellow"), soft_wrap=True)


def _text(value: str = "", style: str = "") -> Text:
    from rich.text import Text

    return Text(value, style=style)


# -- the verdict -------------------------------------------------------------------------------


def _verdict(report: ScanReport, fail_on: Severity, totals: bool, new_only: bool = False) -> Text:
    """The verdict line: from the same blocking list as the exit code (ScanReport.blocking)."""
    counts = Counter(r.status for r in report.results)
    failing = Counter(r.severity for r in report.results if r.status is Status.FAIL)
    blocking = len(report.blocking(fail_on, new_only))
    scope = " (new only)" if new_only else ""
    line = _text()
    if totals:
        parts = [f"{len(report.results)} results"]
        parts.append(
            "failed: "
            + (", ".join(f"{failing[s]} {s.value}" for s in Severity if failing[s]) or "none")
        )
        for status in (Status.ERROR, Status.SKIPPED, Status.WAIVED, Status.PASS):
            if counts[status]:
                name = "errors" if status is Status.ERROR else status.value
                parts.append(f"{counts[status]} {name}")
        line.append(" | ".join(parts) + " | ")
    if blocking:
        line.append(f"FAIL: {blocking} at or above {fail_on.value}{scope}", style="bold red")
    elif report.errors():
        line.append(
            f"INCOMPLETE: nothing failing at or above {fail_on.value}{scope}, "
            f"{len(report.errors())} not assessed",
            style="bold yellow",
        )
    else:
        line.append(f"OK: nothing failing at or above {fail_on.value}{scope}", style="bold green")
    elapsed = (report.finished_at - report.started_at).total_seconds()
    line.append(f" ({len(report.targets)} targets, {elapsed:.1f} s)", style="dim")
    return line


def warning_lines(warnings: Iterable[str]) -> list[str]:
    """One line per distinct warning, with a count when it repeats."""
    counts = Counter(warnings)
    return [
        f"warning: {text}" + (f" ({count} times)" if count > 1 else "")
        for text, count in counts.items()
    ]


# -- the grouped summary -----------------------------------------------------------------------


@dataclass
class CheckGroup:
    """One check's failures across every target."""

    check_id: str
    title: str
    severity: Severity
    targets: list[str] = field(default_factory=list)  # display names, in report order
    seen: set[str] = field(default_factory=set)
    kinds: set[TargetKind] = field(default_factory=set)
    messages: Counter[str] = field(default_factory=Counter)
    new: int = 0


def display_names(report: ScanReport) -> dict[str, str]:
    """Target name -> what people call it (a storefront's posture.yaml name, else its URL)."""
    out: dict[str, str] = {}
    for target in report.targets:
        name = target.options.get("name") if target.options else None
        out[target.name] = str(name) if name else target.name
    return out


class Subjects:
    """Who each result is about, as people name it; built once per report."""

    def __init__(self, report: ScanReport) -> None:
        self.names = display_names(report)
        self.kinds = {t.name: t.kind for t in report.targets}

    def of(self, result: Result) -> tuple[str, TargetKind]:
        """A cross-target check's result (target ``scan``) counts for the storefront it
        concerns: its resource, a part of its key, or the target its message names."""
        if result.target_kind is TargetKind.SCAN:
            about = self.about(result)
            if about is not None:
                return self.names[about], self.kinds[about]
        return self.names.get(result.target, result.target), result.target_kind

    def about(self, result: Result) -> str | None:
        for candidate in (result.resource, *(result.key or "").split("|")):
            if candidate and candidate in self.names:
                return candidate
        mentioned = [n for n in self.names if n and n in result.message]
        return max(mentioned, key=len) if mentioned else None

    def plain_message(self, result: Result) -> str:
        """The message without the target's own address, so one finding reads the same on
        every target and groups (``loads https://cdn.example but shows no opt-out link``)."""
        message = result.message or result.title
        about = self.about(result) if result.target_kind is TargetKind.SCAN else None
        for name in (result.target, about):
            if name and name in message and len(name) > 8:
                message = message.removeprefix(name).replace(name, "each")
        return re.sub(r"\s{2,}", " ", message).strip(" :,") or result.title


def group_failures(report: ScanReport) -> list[CheckGroup]:
    """Failing results grouped by check, worst first: severity, then reach, then check id."""
    subjects = Subjects(report)
    groups: dict[str, CheckGroup] = {}
    for r in report.results:
        if r.status is not Status.FAIL:
            continue
        group = groups.get(r.check_id)
        if group is None:
            group = groups[r.check_id] = CheckGroup(r.check_id, r.title, r.severity)
        group.severity = max(group.severity, r.severity)
        shown, kind = subjects.of(r)
        if shown not in group.seen:
            group.seen.add(shown)
            group.targets.append(shown)
        group.kinds.add(kind)
        group.messages[subjects.plain_message(r)] += 1
        group.new += r.baseline == "new"
    return sorted(groups.values(), key=lambda g: (-g.severity.rank, -len(g.targets), g.check_id))


def _noun(kinds: Iterable[TargetKind], count: int) -> str:
    kinds = set(kinds)
    if len(kinds) == 1:
        singular, plural = _NOUN[next(iter(kinds))]
        return singular if count == 1 else plural
    return "target" if count == 1 else "targets"


def _name_list(names: Sequence[str], room: int) -> str:
    """As many names as fit in ``room`` characters, then "and N more"."""
    shown: list[str] = []
    used = 0
    for index, name in enumerate(names):
        rest = len(names) - index - 1
        tail = len(f" and {rest} more") if rest else 0
        if shown and used + len(name) + 2 + tail > room:
            break
        shown.append(name)
        used += len(name) + 2
    text = ", ".join(shown)
    if len(shown) < len(names):
        text += f" and {len(names) - len(shown)} more"
    return text


def _one_line(console: Console, text: Text) -> None:
    console.print(text, no_wrap=True, overflow="ellipsis", crop=True)


def _print_summary(report: ScanReport, console: Console) -> None:
    width = console.width
    indent = " " * 9
    kinds_total = Counter(t.kind for t in report.targets)
    kinds_total[TargetKind.SCAN] = max(1, kinds_total[TargetKind.SCAN])
    groups = group_failures(report)
    failing_targets = {t for g in groups for t in g.targets}
    heading = _text("FINDINGS BY CHECK", "bold")
    heading.append(
        f"  {len(groups)} checks fail on {len(failing_targets)} of "
        f"{sum(n for k, n in kinds_total.items() if k is not TargetKind.SCAN)} targets; "
        "worst first",
        style="dim",
    )
    console.print(heading)
    for g in groups:
        count = len(g.targets)
        line = _text(f"{g.severity.value.upper():<8} ", _SEVERITY_STYLE[g.severity])
        line.append(f"{g.check_id}  ", style="bold")
        line.append(g.title)
        if g.new:
            line.append(f"  ({g.new} new)", style="dim")
        _one_line(console, line)
        message, times = g.messages.most_common(1)[0]
        others = len(g.messages) - 1
        extra = ([f"{times} times"] if times > 1 else []) + (
            [f"{others} other finding{'s' if others > 1 else ''}"] if others else []
        )
        note = (message if message != g.title else "") + (f" ({'; '.join(extra)})" if extra else "")
        if count == 1:  # one target: who and what on one line
            line = _text(indent + g.targets[0])
            if note.strip():
                line.append(f": {note.strip()}", style="dim")
            _one_line(console, line)
            continue
        total = sum(kinds_total[k] for k in g.kinds)
        lead = f"{count} of {total} {_noun(g.kinds, total)} fail: "
        if count == total:
            lead = f"all {count} {_noun(g.kinds, count)} fail: "
        room = max(20, width - len(indent) - len(lead))
        _one_line(console, _text(indent + lead + _name_list(g.targets, room)))
        if note.strip():
            _one_line(console, _text(indent + note.strip(), "dim"))
    if not groups:
        console.print(_text("  nothing fails", "green"))
    console.print()
    _print_errors_grouped(report, console, indent)
    _print_skips_grouped(report, console, indent)
    _print_worst(report, console)
    waived = sum(r.status is Status.WAIVED for r in report.results)
    passing = {r.check_id for r in report.results if r.status is Status.PASS}
    passing -= {r.check_id for r in report.results if r.status is not Status.PASS}
    hint = _text(f"{len(passing)} checks passed everywhere", "dim")
    if waived:
        hint.append(f"; {waived} results waived", style="dim")
    hint.append("; every result: --details (or --format json)", style="dim")
    _one_line(console, hint)


_URL = re.compile(r"\bhttps?://[^\s,;)]+")


def error_cause(result: Result) -> str:
    """An error's cause without the target's own address, so one cause reads the same on
    every target (``could not collect http facts: cannot connect: Connection refused``)."""
    cause = result.message
    cause = re.sub(r"\s*\(\d+ checks? (?:blocked|affected): [^)]*\)$", "", cause)
    cause = _URL.sub("", cause)
    cause = re.sub(r"\d+\.\d+\.\d+\.\d+(:\d+)?", "", cause)
    cause = re.sub(r"(:\s*)+:", ":", cause)
    cause = re.sub(r"\s{2,}", " ", cause).strip(" :")
    return cause or result.title


@dataclass
class _Cause:
    targets: dict[str, None] = field(default_factory=dict)  # display names, in order
    checks: set[str] = field(default_factory=set)  # the error results' check ids
    blocked: int = 0  # checks a collector's error blocked on each target


def _print_errors_grouped(report: ScanReport, console: Console, indent: str) -> None:
    """One entry per cause across targets: a collector's error (``COLLECT-HTTP``) or the same
    message several checks give (a named page that never answered) reads once."""
    names = display_names(report)
    causes: dict[str, _Cause] = defaultdict(_Cause)
    for r in report.results:
        if r.status is not Status.ERROR:
            continue
        cause = causes[error_cause(r)]
        cause.targets[names.get(r.target, r.target)] = None
        cause.checks.add(r.check_id)
        checks = r.evidence.get("blocked_checks")
        if isinstance(checks, list):
            cause.blocked = max(cause.blocked, len(checks))
    if not causes:
        return
    targets = {t for c in causes.values() for t in c.targets}
    heading = _text("COULD NOT BE ASSESSED", "bold")
    heading.append(
        f"  {len(targets)} target{'s' if len(targets) > 1 else ''}, {len(causes)} "
        f"cause{'s' if len(causes) > 1 else ''}",
        style="dim",
    )
    console.print(heading)
    width = console.width
    ordered = sorted(causes.items(), key=lambda kv: (-len(kv[1].targets), kv[0]))
    for text, cause in ordered[:ERROR_CAUSES]:
        checks = sorted(cause.checks)
        line = _text(f"{'ERROR':<8} ", "bold")
        label = checks[0] if len(checks) == 1 else f"{len(checks)} checks"
        line.append(f"{label}  ", style="bold")
        line.append(text)
        _one_line(console, line)
        where = list(cause.targets)
        lead = f"{len(where)} {'target' if len(where) == 1 else 'targets'}: "
        if cause.blocked:
            tail = f" ({cause.blocked} check{'s' if cause.blocked > 1 else ''} blocked on each)"
        elif len(checks) > 1:
            tail = f" ({', '.join(checks)})"
        else:
            tail = ""
        room = max(20, width - len(indent) - len(lead) - min(len(tail), width // 2))
        _one_line(console, _text(indent + lead + _name_list(where, room) + tail, "dim"))
    if len(ordered) > ERROR_CAUSES:
        rest = ordered[ERROR_CAUSES:]
        count = len({t for _, c in rest for t in c.targets})
        _one_line(
            console,
            _text(f"{indent}and {len(rest)} more causes on {count} targets: --details", "dim"),
        )
    console.print()


def _print_skips_grouped(report: ScanReport, console: Console, indent: str) -> None:
    names = display_names(report)
    skipped: dict[str, list[Result]] = defaultdict(list)
    for r in report.results:
        if r.status is Status.SKIPPED:
            skipped[r.check_id].append(r)
    if not skipped:
        return
    console.print(
        _text("NOT TESTED", "bold"), _text("  could apply, could not be evaluated", "dim")
    )
    for check_id, results in sorted(skipped.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        targets = list(dict.fromkeys(names.get(r.target, r.target) for r in results))
        reason, _ = Counter(r.message for r in results).most_common(1)[0]
        line = _text(f"{'SKIPPED':<8} ", "dim")
        line.append(f"{check_id}  ", style="bold")
        line.append(f"on {len(targets)} {_noun({r.target_kind for r in results}, len(targets))}: ")
        line.append(reason, style="dim")
        _one_line(console, line)
    console.print()


def _print_worst(report: ScanReport, console: Console) -> None:
    subjects = Subjects(report)
    per_target: dict[str, Counter[Severity]] = defaultdict(Counter)
    checks: dict[str, dict[str, Severity]] = defaultdict(dict)
    for r in report.results:
        if r.status is not Status.FAIL:
            continue
        shown, _ = subjects.of(r)
        per_target[shown][r.severity] += 1
        previous = checks[shown].get(r.check_id)
        if previous is None or r.severity > previous:
            checks[shown][r.check_id] = r.severity
    if not per_target:
        return

    def rank(name: str) -> tuple[int, ...]:
        counts = per_target[name]
        return tuple(-counts[s] for s in Severity) + (0,)

    worst = sorted(per_target, key=lambda n: (rank(n), n))[:WORST_TARGETS]
    heading = _text("MOST SERIOUS FAILURES", "bold")
    heading.append(
        f"  {min(WORST_TARGETS, len(per_target))} of {len(per_target)} failing targets",
        style="dim",
    )
    console.print(heading)
    width = max(len(n) for n in worst)
    summaries = {
        name: ", ".join(f"{per_target[name][s]} {s.value}" for s in Severity if per_target[name][s])
        for name in worst
    }
    room = max(len(text) for text in summaries.values())
    for name in worst:
        line = _text(f"  {name:<{width}}  ", "bold")
        line.append(f"{summaries[name]:<{room}}  ")
        ordered = sorted(checks[name].items(), key=lambda kv: (-kv[1].rank, kv[0]))
        line.append(", ".join(c for c, _ in ordered), style="dim")
        _one_line(console, line)
    console.print()


# -- the per-result view -----------------------------------------------------------------------


def _print_details(report: ScanReport, console: Console) -> None:
    from rich.table import Table

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
        heading = _text(f"{area.upper()}", "bold")
        heading.append(f"  {len(items)} to review, {passes.get(area, 0)} passed", style="dim")
        console.print(heading)
        if not items:
            continue
        table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 1), expand=False)
        table.add_column("sev", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("check", no_wrap=True)
        table.add_column("what", overflow="fold")
        for r in collapse_errors(items):
            style = _SEVERITY_STYLE[r.severity] if r.status is Status.FAIL else "dim"
            repeats = r.message.lower().startswith(r.title.lower())
            what = _text("" if repeats else r.title, "bold" if r.status is Status.FAIL else "")
            if r.message:
                what.append(r.message if repeats else f" - {r.message}")
            what.append(f"\n  {_where(r)}", style="dim")
            if r.waiver is not None:
                what.append(f"\n  waived: {r.waiver.reason}", style="dim")
                if r.waiver.expires:
                    what.append(f" (until {r.waiver.expires})", style="dim")
            if r.baseline == "existing":
                what.append("  [in baseline]", style="dim")
            table.add_row(
                _text(r.severity.value.upper(), style),
                _text(r.status.value, "dim" if r.status is not Status.FAIL else style),
                _text(r.check_id),
                what,
            )
        console.print(table)
        console.print()


def collapse_errors(items: list[Result]) -> list[Result]:
    """One line per target and cause: errors several checks report with the same message on one
    target (a named page that never answered) become one line naming the checks."""
    groups: dict[tuple[str, str, str], list[Result]] = defaultdict(list)
    for r in items:
        if r.status is Status.ERROR:
            groups[(r.target, r.resource or "", r.message)].append(r)
    out: list[Result] = []
    for r in items:
        if r.status is not Status.ERROR:
            out.append(r)
            continue
        same = groups[(r.target, r.resource or "", r.message)]
        if same[0] is not r:
            continue
        if len(same) > 1:
            ids = sorted({s.check_id for s in same})
            r = r.with_(
                check_id=f"{len(ids)} checks",
                title="could not be assessed",
                message=f"{r.message} (checks: {', '.join(ids)})",
            )
        out.append(r)
    return out
