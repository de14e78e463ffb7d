"""The document a scan produces. Every output format is rendered from it, so it stays complete."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from posture import __version__
from posture.model import Location, Result, Severity, Status, Target, TargetKind

SCHEMA_VERSION = "1.0"
TOOL_NAME = "posture"


@dataclass
class ScanReport:
    results: list[Result]
    targets: list[Target]
    started_at: dt.datetime
    finished_at: dt.datetime
    config_path: str | None = None
    policy: str = "default"
    tool_version: str = __version__
    warnings: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)  # selected check id -> area

    def failures(self, threshold: Severity = Severity.INFO) -> list[Result]:
        return [r for r in self.results if r.status is Status.FAIL and r.severity >= threshold]

    def errors(self) -> list[Result]:
        return [r for r in self.results if r.status is Status.ERROR]

    def blocking(self, fail_on: Severity, new_only: bool = False) -> list[Result]:
        """The failures that fail the gate: at or above ``fail_on``, and new with ``new_only``.

        The exit code and every verdict line are computed from this one list, so they agree."""
        return [r for r in self.failures(fail_on) if not (new_only and r.baseline == "existing")]

    def gate_code(self, fail_on: Severity, new_only: bool = False) -> int:
        """0 nothing blocks, 1 a blocking failure, 3 nothing blocks but results are errors."""
        if self.blocking(fail_on, new_only):
            return 1
        return 3 if self.errors() else 0

    def summary(self) -> dict[str, Any]:
        return summarize(self.results)

    def to_dict(self, lazy: bool = False) -> dict[str, Any]:
        """The scan document. ``lazy``: results become dicts one at a time as a JSON encoder's
        ``iterencode`` walks them, so an estate's document is streamed, never held whole."""
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": TOOL_NAME, "version": self.tool_version},
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "config": self.config_path,
            "policy": self.policy,
            "targets": [t.to_dict() for t in self.targets],
            "warnings": list(self.warnings),
            "meta": dict(self.meta),
            "checks": dict(sorted(self.checks.items())),
            "results": LazyResults(self.results) if lazy else [r.to_dict() for r in self.results],
            "summary": self.summary(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScanReport:
        targets = []
        for t in data.get("targets", []):
            where = t.get("declared_at")
            declared = (
                Location(where["path"], where.get("start_line"), where.get("end_line"))
                if where
                else None
            )
            targets.append(Target(TargetKind(t["kind"]), t["name"], declared_at=declared))
        return cls(
            results=[Result.from_dict(r) for r in data.get("results", [])],
            targets=targets,
            started_at=dt.datetime.fromisoformat(data["started_at"]),
            finished_at=dt.datetime.fromisoformat(data["finished_at"]),
            config_path=data.get("config"),
            policy=data.get("policy", "default"),
            tool_version=data.get("tool", {}).get("version", ""),
            warnings=list(data.get("warnings", [])),
            meta=dict(data.get("meta", {})),
            checks=dict(data.get("checks", {})),
        )


class LazyResults(list[dict[str, Any]]):
    """A list to json's (pure-Python) iterencode, built one result dict at a time."""

    def __init__(self, results: list[Result]) -> None:
        super().__init__()
        self._results = results

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (r.to_dict() for r in self._results)

    def __len__(self) -> int:
        return len(self._results)

    def __bool__(self) -> bool:
        return bool(self._results)


def summarize(results: Iterable[Result]) -> dict[str, Any]:
    results = list(results)
    by_status = Counter(r.status.value for r in results)
    failing = [r for r in results if r.status is Status.FAIL]
    by_severity = Counter(r.severity.value for r in failing)
    by_area: dict[str, dict[str, int]] = {}
    counts = Counter((r.area.value, r.status.value) for r in results)
    for area, _status in counts:
        by_area.setdefault(area, {s.value: 0 for s in Status})
    for (area, status), n in counts.items():
        by_area[area][status] = n
    return {
        "total": len(results),
        "by_status": {s.value: by_status.get(s.value, 0) for s in Status},
        "failures_by_severity": {s.value: by_severity.get(s.value, 0) for s in Severity},
        "by_area": dict(sorted(by_area.items())),
    }


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
