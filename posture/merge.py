"""Merging the outputs of a sharded run: posture JSON documents into one scan, SARIF logs into one.

Each shard of a run writes its own JSON (``scan -f json``) or SARIF. The final job of a CI matrix
merges them, so code scanning gets one upload and the summary covers the whole estate. Shards
that are missing from the inputs are reported, never papered over; two inputs holding the same
target (overlapping shards, or one shard given twice) are refused.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posture.errors import UsageError
from posture.scanreport import ScanReport

MAX_BYTES = 512 * 1024 * 1024


@dataclass
class Merged:
    kind: str  # "json" or "sarif"
    report: ScanReport | None = None
    sarif: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)  # shards missing from the inputs


def read_document(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise UsageError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise UsageError(f"{path}: not a posture JSON document or a SARIF log")
    return document


def merge_files(paths: Sequence[str]) -> Merged:
    if not paths:
        raise UsageError("posture merge: give the shards' JSON or SARIF files")
    documents = [(Path(p), read_document(Path(p))) for p in paths]
    kinds = {"sarif" if "runs" in d and "version" in d else "json" for _, d in documents}
    if len(kinds) > 1:
        raise UsageError("posture merge: inputs mix SARIF and posture JSON; give one kind")
    if kinds == {"sarif"}:
        return Merged("sarif", sarif=merge_sarif([d for _, d in documents]))
    return merge_json(documents)


def merge_json(documents: Sequence[tuple[Path, dict[str, Any]]]) -> Merged:
    reports = []
    owner: dict[tuple[str, str], Path] = {}
    for path, document in documents:
        try:
            report = ScanReport.from_dict(document)
        except (KeyError, ValueError, TypeError) as exc:
            raise UsageError(f"{path}: not a posture scan result ({exc})") from None
        for target in report.targets:
            key = (target.kind.value, target.name)
            if key in owner:
                raise UsageError(
                    f"{path}: target {target.name} is also in {owner[key]}: the inputs overlap "
                    "(the same shard twice, or shards of different splits)"
                )
            owner[key] = path
        reports.append(report)
    problems = _missing_shards(reports)
    first = reports[0]
    merged = ScanReport(
        results=[r for report in reports for r in report.results],
        targets=[t for report in reports for t in report.targets],
        started_at=min(r.started_at for r in reports),
        finished_at=max(r.finished_at for r in reports),
        config_path=first.config_path,
        policy=first.policy,
        tool_version=first.tool_version,
        warnings=list(dict.fromkeys(w for report in reports for w in report.warnings)),
        checks={k: v for report in reports for k, v in report.checks.items()},
    )
    runs = {r.meta.get("run_id") for r in reports} - {None}
    if len(runs) == 1:
        merged.meta["run_id"] = runs.pop()
    merged.meta["merged_from"] = len(reports)
    merged.warnings.extend(f"incomplete run: {problem}" for problem in problems)
    return Merged("json", report=merged, problems=problems)


def _missing_shards(reports: Sequence[ScanReport]) -> list[str]:
    shards = [r.meta.get("shard") for r in reports]
    if not any(shards):
        return []
    if not all(isinstance(s, dict) for s in shards):
        raise UsageError("posture merge: some inputs are shards and some are whole scans")
    runs = {r.meta.get("run_id") for r in reports}
    if len(runs) > 1:
        names = ", ".join(sorted(str(r) for r in runs))
        raise UsageError(f"posture merge: the inputs come from different runs ({names})")
    counts = {int(s["count"]) for s in shards if isinstance(s, dict)}
    if len(counts) > 1:
        raise UsageError(f"posture merge: the inputs split the estate {sorted(counts)} ways")
    count = counts.pop()
    present = {int(s["index"]) for s in shards if isinstance(s, dict)}
    return [
        f"shard {k}/{count} is missing from the inputs"
        for k in range(1, count + 1)
        if k not in present
    ]


def merge_sarif(logs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One run per category (automationDetails.id), rules united, results re-indexed."""
    by_category: dict[str, dict[str, Any]] = {}
    for log in logs:
        for run in log.get("runs") or []:
            category = (run.get("automationDetails") or {}).get("id", "")
            driver = (run.get("tool") or {}).get("driver") or {}
            slot = by_category.get(category)
            if slot is None:
                slot = {
                    "tool": {"driver": {**driver, "rules": []}},
                    "automationDetails": run.get("automationDetails") or {"id": category},
                    "invocations": [],
                    "results": [],
                    "_rules": {},
                }
                by_category[category] = slot
            rules: dict[str, dict[str, Any]] = slot["_rules"]
            for rule in driver.get("rules") or []:
                rules.setdefault(rule["id"], rule)
            slot["invocations"].extend(run.get("invocations") or [])
            slot["results"].extend(run.get("results") or [])
    runs = []
    for category in sorted(by_category):
        slot = by_category.pop(category)
        rules = slot.pop("_rules")
        index = {rule_id: i for i, rule_id in enumerate(rules)}
        slot["tool"]["driver"]["rules"] = list(rules.values())
        for item in slot["results"]:
            if item.get("ruleId") in index:
                item["ruleIndex"] = index[item["ruleId"]]
        invocations = slot["invocations"]
        if invocations:
            slot["invocations"] = [_merge_invocations(invocations)]
        runs.append(slot)
    first = logs[0]
    return {"$schema": first.get("$schema"), "version": first.get("version", "2.1.0"), "runs": runs}


def _merge_invocations(invocations: Sequence[dict[str, Any]]) -> dict[str, Any]:
    def when(key: str) -> list[str]:
        return [str(i[key]) for i in invocations if i.get(key)]

    starts, ends = when("startTimeUtc"), when("endTimeUtc")
    merged: dict[str, Any] = {
        "executionSuccessful": all(i.get("executionSuccessful", True) for i in invocations),
        "toolExecutionNotifications": [
            n for i in invocations for n in i.get("toolExecutionNotifications") or []
        ],
    }
    if starts:
        merged["startTimeUtc"] = min(starts, key=_instant)
    if ends:
        merged["endTimeUtc"] = max(ends, key=_instant)
    return merged


def _instant(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
