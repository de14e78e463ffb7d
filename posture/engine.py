"""The scan pipeline, start to end: targets -> runner -> policy stages -> ScanReport.

The CLI, ``posture demo`` and the baseline command all scan through ``scan()``, so a result looks
the same whichever door it came in by.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from posture.baseline import apply_baseline, load_baseline
from posture.config import Config, targets_from_config
from posture.errors import UsageError
from posture.model import Location, Result, Target, TargetKind
from posture.plugin import SCAN_WARNING, CheckSpec, ScanOptions, ScanResources
from posture.policy import Policy
from posture.registry import Registry, load_registry
from posture.runner import ProgressCallback, Runner, Selection
from posture.sanitize import clean_text
from posture.scanreport import ScanReport
from posture.shard import Shard, select
from posture.waivers import LoadedWaiver, apply_waivers, check_lifetimes, load_waiver_file


@dataclass
class ScanRequest:
    config: Config | None = None
    urls: Sequence[str] = ()
    iac_paths: Sequence[str] = ()
    options: ScanOptions = field(default_factory=ScanOptions)
    selection: Selection = field(default_factory=Selection)
    checks_dirs: Sequence[str] = ()
    progress: ProgressCallback | None = None
    registry: Registry | None = None
    waiver_files: Sequence[str] = ()
    baseline: str | None = None
    imports: Sequence[str] = ()  # --import: Prowler OCSF JSON files
    targets_file: str | None = None
    shard: Shard | None = None  # scan only this shard's share of the targets (posture.shard)
    # called with this shard's targets once they are known, before any is scanned
    on_targets: Callable[[Sequence[Target]], None] | None = None
    resources: ScanResources | None = None  # shared with other scans (a test session's browser)


def load_policy(config: Config | None) -> Policy:
    if config is None:
        return Policy.load()
    return Policy.load(config.policy.profile, config.policy.overrides, source=config.path)


def build_targets(request: ScanRequest) -> list[Target]:
    targets = targets_from_config(request.config) if request.config is not None else []
    for url in request.urls:
        parts = urlsplit(url if "://" in url else f"https://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--target {url!r}: not an http(s) URL")
        shown = clean_text(parts.geturl())  # no credentials or control characters in outputs
        targets.append(Target(TargetKind.STOREFRONT, shown, {"url": parts.geturl()}))
    if request.targets_file:
        from posture.targets_file import read_targets_file

        targets.extend(read_targets_file(request.targets_file))
    for path in request.iac_paths:
        p = Path(path)
        if not p.exists():
            raise UsageError(f"--iac {path}: no such file or directory")
        targets.append(Target(TargetKind.IAC, path, {"path": path, "abs_path": str(p.resolve())}))
    for path in request.imports:
        p = Path(path)
        if not p.is_file():
            raise UsageError(f"--import {path}: no such file")
        options = {"path": path, "format": "prowler-ocsf", "abs_path": str(p.resolve())}
        targets.append(Target(TargetKind.IMPORT, path, options))
    seen: set[tuple[TargetKind, str]] = set()
    unique = []
    for target in targets:
        if (target.kind, target.name) not in seen:
            seen.add((target.kind, target.name))
            unique.append(target)
    return unique


def _expected_checks(checks: Sequence[CheckSpec], targets: Sequence[Target]) -> dict[str, str]:
    """The selected checks that had a target to run on: id -> area."""
    kinds = {t.kind for t in targets} | {TargetKind.SCAN}
    return {spec.id: spec.area.value for spec in checks if spec.target in kinds}


def _load_waivers(request: ScanRequest, policy: Policy) -> list[LoadedWaiver]:
    waivers = list(request.config.loaded_waivers) if request.config else []
    for path in request.waiver_files:
        waivers.extend(load_waiver_file(path))
    check_lifetimes(waivers, policy, request.options.now.date())
    return waivers


def _relative_locations(results: Sequence[Result], config: Config | None) -> list[Result]:
    """Files inside the scanned folder are named relative to posture.yaml's folder, never by the
    checkout's absolute path: fingerprints (and so baselines) are the same in every clone, and
    no output shows where the runner keeps its checkouts."""
    if config is None:
        return list(results)
    base = os.path.abspath(config.base_dir)
    out = []
    for r in results:
        loc = r.location
        if loc is not None and os.path.isabs(loc.path):
            rel = os.path.relpath(os.path.abspath(loc.path), base)
            if rel != os.pardir and not rel.startswith(os.pardir + os.sep):
                r = r.with_(location=Location(Path(rel).as_posix(), loc.start_line, loc.end_line))
        out.append(r)
    return out


def _relaxed_gate(config: Config | None) -> list[str]:
    """posture.yaml comes with the pull request: say so when it changes the waiver rules, so a
    reviewer sees it in the summary rather than in a diff they may not read."""
    if config is None:
        return []
    overrides = config.policy.overrides.get("waivers")
    if not isinstance(overrides, dict):
        return []
    return [
        f"posture.yaml:{config.line('policy', 'overrides', 'waivers', key) or '?'} overrides the "
        f"waiver policy (waivers.{key}: {value!r}): review it like code"
        for key, value in overrides.items()
    ]


def _lifted_warnings(results: list[Result]) -> list[str]:
    """The warnings checks put in their results' evidence (``SCAN_WARNING``), each once."""
    return sorted({str(r.evidence[SCAN_WARNING]) for r in results if r.evidence.get(SCAN_WARNING)})


def scan(request: ScanRequest) -> ScanReport:
    registry = request.registry or load_registry(request.checks_dirs)
    unmatched = request.selection.unmatched(registry.checks.values())
    if unmatched:
        raise UsageError(f"--only/--skip {', '.join(unmatched)}: matches no check id or area")
    policy = load_policy(request.config)
    waivers = _load_waivers(request, policy)  # before scanning: a bad waiver is a config error
    known = load_baseline(request.baseline) if request.baseline else None
    targets = build_targets(request)
    if not targets:
        raise UsageError(
            "nothing to scan: give -c posture.yaml, --target URL, --targets-file FILE or --iac PATH"
        )
    # an empty share is a completed shard, not an error: small estates split many ways have them
    targets = select(targets, request.shard)
    if request.on_targets is not None:
        request.on_targets(targets)
    base_dir = str(request.config.base_dir) if request.config else str(Path.cwd())
    runner = Runner(
        registry,
        request.options,
        policy,
        request.config,
        request.selection,
        request.progress,
        base_dir,
        request.resources,
    )
    runner.home_shard = request.shard is None or request.shard.index == 1
    output = runner.run(targets)
    from posture.compliance import apply_obligations, declarations

    located = _relative_locations(output.results, request.config)
    results, warnings = apply_waivers(
        apply_obligations(located), waivers, policy, request.options.now.date()
    )
    warnings = _relaxed_gate(request.config) + _lifted_warnings(results) + warnings
    if known is not None:
        results = apply_baseline(results, known)
    report = ScanReport(
        results=results,
        warnings=[clean_text(w) for w in warnings],
        targets=output.targets,
        started_at=output.started_at,
        finished_at=output.finished_at or dt.datetime.now(dt.UTC),
        config_path=request.config.path if request.config else None,
        policy=policy.name,
        checks=_expected_checks(output.checks, targets),
        # what the business declares that decides applicability (kept with the saved scan)
        meta={"declarations": declarations(request.config, policy)} if request.config else {},
    )
    if request.shard is not None:
        report.meta["shard"] = {"index": request.shard.index, "count": request.shard.count}
    return report
