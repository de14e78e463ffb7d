"""Baselines: the findings a team already knows about, so a deploy fails only for new ones.

A baseline file lists fingerprints (check, target, file and resource: never lines, never
evidence that changes by itself), with enough context for a reviewer to read it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from posture.errors import ConfigError
from posture.model import Result, Status
from posture.scanreport import ScanReport

BASELINE_VERSION = 1
_TRACKED = (Status.FAIL, Status.WAIVED, Status.ERROR)


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
                "title": r.title,
            }
    return {
        "posture_baseline": BASELINE_VERSION,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "from_scan": report.started_at.isoformat(timespec="seconds"),
        "findings": dict(sorted(entries.items())),
    }


MAX_BASELINE_BYTES = 64 * 1024 * 1024


def load_baseline(path: str | Path) -> set[str]:
    file = Path(path)
    from posture.safe_read import parse_json, read_limited

    try:
        data = parse_json(read_limited(file, MAX_BASELINE_BYTES))
    except OSError as exc:
        raise ConfigError(f"cannot read baseline: {exc.strerror}", path=str(file)) from None
    except ValueError as exc:
        raise ConfigError(f"not JSON: {exc}", path=str(file)) from None
    if not isinstance(data, dict) or data.get("posture_baseline") != BASELINE_VERSION:
        raise ConfigError("not a posture baseline (version 1)", path=str(file))
    findings = data.get("findings")
    if not isinstance(findings, dict):
        raise ConfigError("baseline has no 'findings' mapping", path=str(file))
    return set(findings)


def _known(result: Result, known: set[str]) -> bool:
    """By fingerprint; else by an earlier fingerprint of the same finding (a baseline written
    before its identity changed, e.g. IaC results before the root module was part of it)."""
    return result.fingerprint in known or any(a in known for a in result.fingerprint_aliases)


def apply_baseline(results: Sequence[Result], known: set[str]) -> list[Result]:
    """Mark each finding ``existing`` (in the baseline) or ``new``; passes stay unmarked."""
    return [
        r.with_(baseline="existing" if _known(r, known) else "new") if r.status in _TRACKED else r
        for r in results
    ]
