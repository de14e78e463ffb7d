"""Runs a scan: collect facts once per target and collector, concurrently; then evaluate checks.

Concurrency lives here and nowhere else. Every collector and every check runs under a time limit
in a daemon thread, so one that hangs costs its timeout, yields an ``error`` result, and never keeps
the process alive. An exception in a check becomes one ``error`` result; the scan goes on.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from posture.config import Config
from posture.errors import PostureError
from posture.model import Area, Result, Severity, Status, Target, TargetKind, Waiver, fingerprint_of
from posture.plugin import (
    CheckContext,
    CheckSpec,
    CollectContext,
    Outcome,
    ScanOptions,
    ScanResources,
)
from posture.policy import Policy
from posture.registry import Registry

T = TypeVar("T")

ProgressCallback = Callable[[str, Target, str], None]
RESULTS_FACTS = "results"


@dataclass(frozen=True)
class ScanFacts:
    """Facts of the ``scan`` phase: everything the other checks found, for cross-target checks."""

    results: tuple[Result, ...]
    targets: tuple[Target, ...]

    def for_kind(self, kind: TargetKind) -> list[Result]:
        return [r for r in self.results if r.target_kind is kind]


@dataclass(frozen=True)
class Selection:
    """``--only`` and ``--skip``: check ids (glob patterns allowed) or area names; and whole
    collectors left out (``--no-browser``: every check that needs the browser's facts)."""

    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    skip_facts: tuple[str, ...] = ()

    def unmatched(self, specs: Iterable[CheckSpec]) -> list[str]:
        """Patterns that select no check at all: almost always a typo."""
        specs = list(specs)
        return [
            p
            for p in (*self.only, *self.skip)
            if not any(Selection(only=(p,)).includes(s) for s in specs)
        ]

    def includes(self, spec: CheckSpec) -> bool:
        def matches(pattern: str) -> bool:
            p = pattern.lower()
            return p == spec.area.value or fnmatch.fnmatchcase(spec.id.lower(), p)

        if spec.facts in self.skip_facts:
            return False
        if self.only and not any(matches(p) for p in self.only):
            return False
        return not any(matches(p) for p in self.skip)


@dataclass
class RunOutput:
    results: list[Result]
    targets: list[Target]
    started_at: dt.datetime
    finished_at: dt.datetime
    checks: list[CheckSpec] = field(default_factory=list)


class CallTimeout(Exception):
    pass


def call_with_timeout(fn: Callable[[], T], timeout: float, name: str) -> T:
    """Run ``fn`` in a daemon thread; raise ``CallTimeout`` if it is not done in ``timeout`` s."""
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise CallTimeout(f"did not finish within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def call_each_with_timeout(
    fns: Sequence[Callable[[], T]], timeout: float, name: str
) -> list[tuple[bool, T | BaseException]]:
    """Run ``fns`` one after the other in one daemon thread, each within ``timeout`` s.

    ``(True, value)`` or ``(False, exception)`` per function, in order. One thread serves them
    all (a thread per call cost more CPU than the checks themselves over an estate); when one
    hangs, it is abandoned with its thread, answers ``CallTimeout``, and the rest go on in a new
    thread.
    """
    out: list[tuple[bool, T | BaseException]] = []
    while len(out) < len(fns):
        begin = len(out)
        answers: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        abandoned = threading.Event()

        def body(begin: int = begin, answers: Any = answers, abandoned: Any = abandoned) -> None:
            for fn in fns[begin:]:
                if abandoned.is_set():
                    return
                try:
                    answers.put((True, fn()))
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    answers.put((False, exc))

        threading.Thread(target=body, name=name, daemon=True).start()
        for _ in fns[begin:]:
            try:
                out.append(answers.get(timeout=timeout))
            except queue.Empty:
                abandoned.set()
                out.append((False, CallTimeout(f"did not finish within {timeout:g} s")))
                break
    return out


def _outcomes(spec: CheckSpec, facts: Any, ctx: CheckContext) -> list[Outcome]:
    return list(spec.func(facts, ctx))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (PostureError, CallTimeout)):
        return str(exc)
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if str(exc) else text


def _with_alias(result: Result, previous_path: str | None) -> Result:
    """Note the fingerprint the result had when it was reported at ``previous_path``."""
    if previous_path is None:
        return result
    old = fingerprint_of(
        result.check_id, result.target, previous_path, result.resource or "", result.key or ""
    )
    return result if old == result.fingerprint else result.with_(fingerprint_aliases=(old,))


def nothing_to_evaluate(spec: CheckSpec, facts: Any, ctx: CheckContext) -> str | None:
    """Why a check that yielded nothing had nothing to look at, else ``None`` (then it passed).

    The check's own ``needs`` decides first, then the facts' ``nothing_to_evaluate``. A check
    that does not apply to a target never gets here: it is not run on that target at all."""
    try:
        if spec.needs is not None:
            return spec.needs(facts, ctx)
        reason = getattr(facts, "nothing_to_evaluate", None)
        return reason if isinstance(reason, str) and reason else None
    except Exception as exc:  # noqa: BLE001 - a broken predicate must not hide the check
        return f"could not tell whether there was anything to evaluate: {_describe(exc)}"


def result_from(spec: CheckSpec, target: Target, outcome: Outcome) -> Result:
    status = outcome.status
    waiver = None
    if outcome.suppressed is not None and status is Status.FAIL:
        status = Status.WAIVED
        where = str(outcome.location) if outcome.location else target.name
        waiver = Waiver(reason=outcome.suppressed, source=f"inline suppression ({where})")
    result = Result(
        check_id=outcome.check_id or spec.id,
        title=outcome.title or spec.title,
        area=outcome.area or spec.area,
        severity=outcome.severity or spec.severity,
        status=status,
        target=target.name,
        target_kind=target.kind,
        message=outcome.message,
        location=outcome.location,
        resource=outcome.resource,
        evidence=dict(outcome.evidence),
        evidence_source=outcome.source,
        remediation=outcome.remediation if outcome.remediation is not None else spec.remediation,
        references=outcome.references if outcome.references is not None else spec.references,
        key=outcome.key,
        waiver=waiver,
        origin=outcome.origin,
    )
    return _with_alias(result, outcome.previous_path)


COLLECT_PREFIX = "COLLECT-"


def collector_error(
    facts_name: str,
    target: Target,
    specs: Sequence[CheckSpec],
    cause: str,
    *,
    partial: Result | None = None,
) -> Result:
    """One cause, one error: the target could not be assessed by any of the checks that needed
    these facts. The result names the cause and the checks it blocked (``blocked_checks``).

    ``partial``: the collector ran, but part of what it gathers is missing (a named page that
    never answered) and several checks reported the same error for it; one result stands for
    them, keeping that error's resource, key and location."""
    blocked = sorted(spec.id for spec in specs)
    areas = Counter(spec.area for spec in specs)
    area = max(areas, key=lambda a: (areas[a], a.value)) if areas else Area.OTHER
    severity = max((spec.severity for spec in specs), default=Severity.INFO)
    shown = ", ".join(blocked[:6]) + (f" and {len(blocked) - 6} more" if len(blocked) > 6 else "")
    checks = "check" if len(blocked) == 1 else "checks"
    if partial is None:
        title = f"Could not collect {facts_name} facts"
        message = f"could not collect {facts_name} facts: {cause} ({len(blocked)} {checks} "
        message += f"blocked: {shown})"
    else:
        title = f"Part of the {facts_name} facts could not be collected"
        message = f"{cause} ({len(blocked)} {checks} affected: {shown})"
    return Result(
        check_id=f"{COLLECT_PREFIX}{facts_name.upper()}",
        title=title,
        area=area,
        severity=severity,
        status=Status.ERROR,
        target=target.name,
        target_kind=target.kind,
        message=message,
        location=partial.location if partial else None,
        resource=partial.resource if partial else None,
        key=partial.key if partial else None,
        evidence={
            "facts": facts_name,
            "cause": cause,
            "blocked_checks": blocked,
            "blocked_areas": {spec.id: spec.area.value for spec in specs},
        },
        remediation="Make the target reachable or readable by posture, then scan again.",
    )


def merge_shared_errors(
    facts_name: str, target: Target, specs: Sequence[CheckSpec], results: list[Result]
) -> list[Result]:
    """Errors that several checks report with the same message on the same resource come from
    one gap in the facts (a named page that never answered): one result stands for them.
    A check's own failure (``check failed: ...``) stays its own."""
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        if r.status is Status.ERROR and not r.message.startswith("check failed:"):
            groups.setdefault((r.message, r.resource or ""), []).append(r)
    shared = {k: v for k, v in groups.items() if len({r.check_id for r in v}) > 1}
    if not shared:
        return results
    by_id = {spec.id: spec for spec in specs}
    out: list[Result] = []
    done: set[tuple[str, str]] = set()
    for r in results:
        group = (r.message, r.resource or "")
        if r.status is not Status.ERROR or group not in shared:
            out.append(r)
            continue
        if group in done:
            continue
        done.add(group)
        ids = sorted({s.check_id for s in shared[group]})
        affected = [by_id[i] for i in ids if i in by_id]
        out.append(collector_error(facts_name, target, affected, r.message, partial=r))
    return out


class Runner:
    def __init__(
        self,
        registry: Registry,
        options: ScanOptions,
        policy: Policy,
        config: Config | None = None,
        selection: Selection = Selection(),
        progress: ProgressCallback | None = None,
        base_dir: str = ".",
        resources: ScanResources | None = None,
    ) -> None:
        self.registry = registry
        self.options = options
        self.policy = policy
        self.config = config
        self.selection = selection
        self.progress = progress
        self.base_dir = base_dir
        # False on shards 2..N of a sharded run: the scan-phase checks still judge this shard's
        # own results (trackers, vendors per storefront), but their whole-scan verdicts (no
        # resource, no key: "nothing contradicts the declarations") come from shard 1 alone.
        self.home_shard = True
        self.resources = resources  # given: shared beyond this scan and closed by its owner
        self._lock = threading.Lock()
        self._pending: dict[Target, int] = {}  # collector runs left per target
        self._errors: dict[Target, int] = {}

    def selected_checks(self) -> list[CheckSpec]:
        return [s for s in self.registry.sorted_checks() if self.selection.includes(s)]

    def _notify(self, event: str, target: Target, detail: str) -> None:
        if self.progress is not None:
            with self._lock:
                self.progress(event, target, detail)

    def jobs(self, targets: Sequence[Target]) -> list[tuple[Target, str, list[CheckSpec]]]:
        """(target, facts name, checks) for every collector run the scan needs."""
        checks = self.selected_checks()
        jobs = []
        for target in targets:
            by_facts: dict[str, list[CheckSpec]] = {}
            for spec in checks:
                if spec.target is target.kind:
                    by_facts.setdefault(spec.facts, []).append(spec)
            for facts_name in sorted(by_facts):
                jobs.append((target, facts_name, by_facts[facts_name]))
        return jobs

    def run(self, targets: Sequence[Target]) -> RunOutput:
        started = dt.datetime.now(dt.UTC)
        jobs = self.jobs([t for t in targets if t.kind is not TargetKind.SCAN])
        self._notify("plan", Target(TargetKind.SCAN, "scan"), str(len(jobs)))
        self._pending = {}
        for target, _, _ in jobs:
            self._pending[target] = self._pending.get(target, 0) + 1
        self._errors = dict.fromkeys(self._pending, 0)
        self._notify("plan-targets", Target(TargetKind.SCAN, "scan"), str(len(self._pending)))
        collected: list[list[Result]] = [[] for _ in jobs]
        workers = max(1, min(self.options.concurrency, len(jobs) or 1))
        # Shared by this scan's collectors (one browser), then closed, unless the caller owns it.
        resources = self.resources or ScanResources()
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="posture") as pool:
                futures = [
                    pool.submit(self._run_job, target, facts_name, specs, resources)
                    for target, facts_name, specs in jobs
                ]
                try:
                    for index, future in enumerate(futures):
                        collected[index] = future.result()
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)  # SIGTERM, ^C: do not start more
                    raise
        finally:
            if self.resources is None:
                resources.close()
        results = [r for batch in collected for r in batch]
        scan_checks = [s for s in self.selected_checks() if s.target is TargetKind.SCAN]
        if scan_checks:
            scan_target = Target(TargetKind.SCAN, "scan")
            facts = ScanFacts(tuple(results), tuple(targets))
            for spec in scan_checks:
                found = self._evaluate(spec, scan_target, facts)
                if not self.home_shard:
                    found = [r for r in found if r.resource or r.key]
                results.extend(found)
        return RunOutput(
            results=results,
            targets=list(targets),
            started_at=started,
            finished_at=dt.datetime.now(dt.UTC),
            checks=self.selected_checks(),
        )

    def _run_job(
        self,
        target: Target,
        facts_name: str,
        specs: list[CheckSpec],
        resources: ScanResources | None = None,
    ) -> list[Result]:
        results = self._collect_and_check(target, facts_name, specs, resources)
        errors = sum(1 for r in results if r.status is Status.ERROR)
        with self._lock:
            self._errors[target] = self._errors.get(target, 0) + errors
            self._pending[target] = left = self._pending.get(target, 1) - 1
            total = self._errors[target]
        if left == 0:  # every collector of this target is done: the estate view counts it
            self._notify("target-done", target, str(total))
        return results

    def _collect_and_check(
        self,
        target: Target,
        facts_name: str,
        specs: list[CheckSpec],
        resources: ScanResources | None = None,
    ) -> list[Result]:
        collector = self.registry.collectors[facts_name]
        ctx = CollectContext(
            self.options, self.policy, self.config, self.base_dir, resources or ScanResources()
        )
        self._notify("collect-start", target, facts_name)
        try:
            facts = call_with_timeout(
                lambda: collector.func(target, ctx),
                self.options.collect_timeout,
                f"collect-{facts_name}",
            )
        except Exception as exc:  # noqa: BLE001 - one target's failure never aborts the scan
            self._notify("collect-done", target, facts_name)
            return [collector_error(facts_name, target, specs, _describe(exc))]
        self._notify("collect-done", target, facts_name)
        check_ctx = CheckContext(target, self.policy, self.config, self.options.now)
        calls = [functools.partial(_outcomes, spec, facts, check_ctx) for spec in specs]
        results: list[Result] = []
        answers = call_each_with_timeout(calls, self.options.check_timeout, f"checks-{facts_name}")
        for spec, (ok, value) in zip(specs, answers, strict=True):
            results.extend(self._check_results(spec, target, ok, value, facts, check_ctx))
        return merge_shared_errors(facts_name, target, specs, results)

    def _evaluate(self, spec: CheckSpec, target: Target, facts: Any) -> list[Result]:
        ctx = CheckContext(target, self.policy, self.config, self.options.now)
        ((ok, value),) = call_each_with_timeout(
            [lambda: list(spec.func(facts, ctx))], self.options.check_timeout, spec.id
        )
        return self._check_results(spec, target, ok, value, facts, ctx)

    def _check_results(
        self,
        spec: CheckSpec,
        target: Target,
        ok: bool,
        value: Any,
        facts: Any,
        ctx: CheckContext,
    ) -> list[Result]:
        outcomes: list[Outcome] = []
        if ok:
            try:
                outcomes = list(value)
                results = [result_from(spec, target, o) for o in outcomes if o.applies]
            except Exception as exc:  # noqa: BLE001 - a malformed outcome is the check's fault
                ok, value = False, exc
        if not ok:
            if not isinstance(value, Exception):
                raise value  # KeyboardInterrupt, SystemExit: not the check's to swallow
            message = f"check failed: {_describe(value)}"
            outcomes = []
            results = [result_from(spec, target, Outcome.error(message))]
        if not results and not outcomes:
            # silent: a pass only if the check had something to look at
            reason = nothing_to_evaluate(spec, facts, ctx)
            outcome = Outcome.skip(reason) if reason else Outcome.passed()
            results = [result_from(spec, target, outcome)]
        self._notify("check-done", target, spec.id)
        return results
