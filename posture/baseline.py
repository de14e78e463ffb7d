"""Baselines: the findings a team already knows about, so a deploy fails only for new ones.

A baseline file lists fingerprints (check, target, file and resource: never lines, never
evidence that changes by itself), with enough context for a reviewer to read it.

A baseline accepts what failed, at the severity it failed with, and nothing more: a finding that
was only waived when the baseline was taken is not accepted by it (when the waiver ends, it
blocks), and a finding whose severity rose above the baselined one is new again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posture.errors import ConfigError
from posture.model import Result, Severity, Status
from posture.scanreport import ScanReport

BASELINE_VERSION = 1
_TRACKED = (Status.FAIL, Status.WAIVED, Status.ERROR)


@dataclass(frozen=True)
class Known:
    """One baselined finding: the status and severity it had when the baseline was taken."""

    status: Status
    severity: Severity


def baseline_document(report: ScanReport) -> dict[str, Any]:
    entries = {}
    for r in report.results:
        if r.status in _TRACKED:
            entries[r.fingerprint] = {
                "check_id": r.check_id,
                "target": r.target,
                "path": r.location.path if r.location else None,
                "resource": r.resource,
                "key": r.key,
                **({"origin": str(r.origin)} if r.origin is not None else {}),
                "severity": r.severity.value,
                "status": r.status.value,
                "title": r.title,
            }
    return {
        "posture_baseline": BASELINE_VERSION,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "from_scan": report.started_at.isoformat(timespec="seconds"),
        "findings": dict(sorted(entries.items())),
    }


MAX_BASELINE_BYTES = 64 * 1024 * 1024


def load_baseline(path: str | Path) -> dict[str, Known]:
    file = Path(path)
    from posture.safe_read import parse_json, read_limited

    try:
        data = parse_json(read_limited(file, MAX_BASELINE_BYTES))
    except OSError as exc:
        raise ConfigError(f"cannot read baseline: {exc.strerror}", path=str(file)) from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"not JSON: {exc}", path=str(file)) from None
    if not isinstance(data, dict) or data.get("posture_baseline") != BASELINE_VERSION:
        raise ConfigError("not a posture baseline (version 1)", path=str(file))
    findings = data.get("findings")
    if not isinstance(findings, dict):
        raise ConfigError("baseline has no 'findings' mapping", path=str(file))
    known = {}
    for fingerprint, entry in findings.items():
        entry = entry if isinstance(entry, dict) else {}
        try:
            # an entry without a status predates statuses in baselines: it was a failure
            status = Status(entry.get("status", Status.FAIL.value))
            severity = Severity.parse(str(entry.get("severity", "critical")))
        except ValueError as exc:
            raise ConfigError(f"finding {fingerprint}: {exc}", path=str(file)) from None
        known[str(fingerprint)] = Known(status, severity)
    return known


def _entry(result: Result, known: dict[str, Known]) -> Known | None:
    """By fingerprint; else by an earlier fingerprint of the same finding (a baseline written
    before its identity changed, e.g. IaC results before the root module was part of it)."""
    entry = known.get(result.fingerprint)
    if entry is None:
        entry = next((known[a] for a in result.fingerprint_aliases if a in known), None)
    return entry


def is_existing(result: Result, known: dict[str, Known]) -> bool:
    """Whether the baseline accepts this result as it is now."""
    entry = _entry(result, known)
    if entry is None:
        return False
    if result.severity > entry.severity:
        return False  # it got worse: 20 days left became 3, a test card became a real one
    if entry.status is Status.WAIVED and result.status is not Status.WAIVED:
        return False  # only the waiver accepted it, and the waiver no longer applies
    return True


def apply_baseline(results: Sequence[Result], known: dict[str, Known]) -> list[Result]:
    """Mark each finding ``existing`` (accepted by the baseline) or ``new``; passes stay unmarked."""
    return [
        r.with_(baseline="existing" if is_existing(r, known) else "new")
        if r.status in _TRACKED
        else r
        for r in results
    ]
