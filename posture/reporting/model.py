"""The quarterly report's content, built from the scan history. Every format renders this.

Posture score (documented in docs/audit-report.md): over the latest scan of each target in a
window, each evaluated result weighs by severity (critical 10, high 5, medium 3, low 1, info 0);
score = 100 x (1 - failing weight / evaluated weight), per area and overall. Errors, skipped and
waived results are left out of both sums (a waived result is an accepted risk, shown apart).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from posture import __version__
from posture.errors import UsageError
from posture.model import Result, Severity, Status

WEIGHT = {
    Severity.CRITICAL: 10,
    Severity.HIGH: 5,
    Severity.MEDIUM: 3,
    Severity.LOW: 1,
    Severity.INFO: 0,
}
_PERIOD = re.compile(r"^(\d{4})-Q([1-4])$")
EXPIRING_DAYS = 30
FRAMEWORKS = ("gdpr", "ccpa", "pci-dss", "ccpa-cyber-audit")


@dataclass(frozen=True)
class Period:
    name: str
    start: dt.datetime
    end: dt.datetime  # exclusive

    @classmethod
    def parse(cls, value: str) -> Period:
        match = _PERIOD.match(value.strip().upper())
        if not match:
            raise UsageError(f"--period {value!r}: expected a quarter such as 2026-Q4")
        year, quarter = int(match[1]), int(match[2])
        start = dt.datetime(year, 3 * quarter - 2, 1, tzinfo=dt.UTC)
        end = dt.datetime(
            year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1, tzinfo=dt.UTC
        )
        return cls(f"{year}-Q{quarter}", start, end)

    def previous(self) -> Period:
        year, quarter = int(self.name[:4]), int(self.name[-1])
        return Period.parse(f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}")


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def scores(results: Iterable[tuple[str, str, str]]) -> dict[str, float | None]:
    """(area, severity, status) triples -> score per area and 'overall' (None: nothing evaluated)."""
    total: Counter[str] = Counter()
    failing: Counter[str] = Counter()
    for area, severity, status in results:
        if status not in ("pass", "fail"):
            continue
        weight = WEIGHT[Severity(severity)]
        for key in (area, "overall"):
            total[key] += weight
            if status == "fail":
                failing[key] += weight
    return {k: round(100 * (1 - failing[k] / total[k]), 1) if total[k] else None for k in total}


def latest_per_target(scan_rows: Sequence[Any]) -> list[Any]:
    """The last scan of each target in a window (scans may cover several targets)."""
    latest: dict[str, Any] = {}
    for row in scan_rows:
        for target in row.targets or []:
            latest[target["name"]] = row
    unique = {row.id: row for row in latest.values()}
    return sorted(unique.values(), key=lambda r: (_utc(r.started_at), r.id))


def end_state(scan_rows: Sequence[Any], results_by_scan: dict[int, list[Result]]) -> list[Result]:
    """Each target's results from its latest scan in the window."""
    latest_scan_of: dict[str, int] = {}
    for row in sorted(scan_rows, key=lambda r: (_utc(r.started_at), r.id)):
        for target in row.targets or []:
            latest_scan_of[target["name"]] = row.id
    out = []
    for scan_id in sorted(set(latest_scan_of.values())):
        for r in results_by_scan.get(scan_id, []):
            if latest_scan_of.get(r.target) == scan_id or r.target == "scan":
                out.append(r)
    return out


def _week(value: dt.datetime) -> str:
    year, week, _ = _utc(value).isocalendar()
    return f"{year}-W{week:02d}"


def trend(history: Any, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Scores per ISO week from ``start`` to ``end``: each target's latest scan up to that week."""
    from sqlalchemy import select

    from posture.history.schema import results as results_table

    rows = history.scans_between(None, end)
    by_week: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_week[_week(row.started_at)].append(row)
    weeks = sorted(by_week)
    triples_by_scan: dict[int, list[tuple[str, str, str, str]]] = defaultdict(list)
    with history.engine.connect() as conn:
        query = select(
            results_table.c.scan_id,
            results_table.c.target,
            results_table.c.area,
            results_table.c.severity,
            results_table.c.status,
        ).where(results_table.c.scan_id.in_([r.id for r in rows]))
        for rid, target, area, severity, status in conn.execute(query):
            triples_by_scan[rid].append((target, area, severity, status))
    series = []
    latest_of_target: dict[str, int] = {}
    for week in weeks:
        for row in sorted(by_week[week], key=lambda r: (_utc(r.started_at), r.id)):
            for target in row.targets or []:
                latest_of_target[target["name"]] = row.id
        if min(_utc(r.started_at) for r in by_week[week]) < start - dt.timedelta(days=366):
            continue
        current = [
            (area, severity, status)
            for target, scan_id in latest_of_target.items()
            for t, area, severity, status in triples_by_scan.get(scan_id, [])
            if t == target
        ]
        series.append({"week": week, "scores": scores(current)})
    return series


def _finding(row: Any, now: dt.datetime) -> dict[str, Any]:
    first = _utc(row.first_seen)
    resolved = _utc(row.resolved_at) if row.resolved_at else None
    out: dict[str, Any] = {
        "fingerprint": row.fingerprint,
        "check_id": row.check_id,
        "target": row.target,
        "first_seen": first.isoformat(),
        "last_seen": _utc(row.last_seen).isoformat(),
        "resolved_at": resolved.isoformat() if resolved else None,
        "status": row.last_status,
    }
    if resolved:
        out["days_to_resolve"] = (resolved - first).days
    else:
        out["age_days"] = (now - first).days
    return out


def build_report(
    history: Any,
    period: Period,
    compare: Period | None = None,
    declared: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the quarterly report shows, as plain data (the JSON format is this).

    ``declared``: the business's declarations (posture.compliance.declarations of posture.yaml),
    which decide applicability ("not applicable" rows, the cybersecurity audit's test); the
    history keeps results, not declarations, so without them nothing is taken out of scope.
    """
    from posture.compliance import build_matrices

    compare = compare or period.previous()
    in_period = history.scans_between(period.start, period.end)
    runs = history.runs_between(period.start, period.end)
    if not in_period and not runs:
        raise UsageError(
            f"no scans recorded in {period.name} ({history.url.split('://')[0]} history)"
        )
    before = history.scans_between(compare.start, compare.end)
    current_rows = latest_per_target(in_period)
    previous_rows = latest_per_target(before)
    loaded = history.results_of([r.id for r in current_rows + previous_rows])
    current = end_state(current_rows, loaded)
    previous = end_state(previous_rows, loaded)
    # every digest the report lists is recomputed from the stored results, never copied
    digests = history.recompute_digests([r.id for r in in_period])
    mismatched = [i for i, (stored, again) in digests.items() if stored != again]
    checks_now: dict[str, str] = {}
    for row in current_rows:
        checks_now.update(row.checks or {})
    checks_before: dict[str, str] = {}
    for row in previous_rows:
        checks_before.update(row.checks or {})

    targets_now = [
        (t["kind"], t["name"]) for row in current_rows for t in (row.targets or []) if "kind" in t
    ]
    targets_before = [
        (t["kind"], t["name"]) for row in previous_rows for t in (row.targets or []) if "kind" in t
    ]
    now_matrices = build_matrices(
        current, FRAMEWORKS, check_areas=checks_now or None, declared=declared, targets=targets_now
    )
    before_matrices = (
        build_matrices(
            previous,
            FRAMEWORKS,
            check_areas=checks_before or None,
            declared=declared,
            targets=targets_before,
        )
        if previous
        else []
    )
    matrices = []
    for index, m in enumerate(now_matrices):
        rows_before = (
            {r.obligation.id: r.status.value for r in before_matrices[index].rows}
            if before_matrices
            else {}
        )
        matrices.append(
            {
                **{k: v for k, v in m.to_dict().items() if k != "obligations"},
                "rows": [
                    {
                        **row.to_dict(),
                        "previous_status": rows_before.get(row.obligation.id),
                        "changed": bool(rows_before)
                        and rows_before.get(row.obligation.id) != row.status.value,
                    }
                    for row in m.rows
                ],
            }
        )

    end = period.end
    finding_rows = [f for f in history.findings() if _utc(f.first_seen) < end]
    new = [_finding(f, end) for f in finding_rows if _utc(f.first_seen) >= period.start]
    resolved = [
        _finding(f, end)
        for f in finding_rows
        if f.resolved_at and period.start <= _utc(f.resolved_at) < end
    ]
    open_ = [
        _finding(f, end) for f in finding_rows if not f.resolved_at or _utc(f.resolved_at) >= end
    ]
    severity_of = {r.fingerprint: r.severity.value for r in current}
    for item in new + resolved + open_:
        item["severity"] = severity_of.get(item["fingerprint"])

    waivers: dict[str, list[dict[str, Any]]] = {"active": [], "expiring": [], "expired": []}
    seen_waivers: set[tuple[str, str]] = set()
    for r in current:
        if r.waiver is None or r.waiver.expires is None:
            continue
        key = (r.fingerprint, r.waiver.expires)
        if key in seen_waivers:
            continue
        seen_waivers.add(key)
        expires = dt.datetime.fromisoformat(r.waiver.expires).replace(tzinfo=dt.UTC)
        bucket = (
            "expired"
            if expires < end
            else "expiring"
            if expires < end + dt.timedelta(days=EXPIRING_DAYS)
            else "active"
        )
        waivers[bucket].append(
            {
                "check_id": r.check_id,
                "target": r.target,
                "resource": r.resource,
                "reason": r.waiver.reason,
                "approver": r.waiver.approver,
                "expires": r.waiver.expires,
                "source": r.waiver.source,
            }
        )

    vendors = [
        {
            "check_id": r.check_id,
            "title": r.title,
            "status": r.status.value,
            "resource": r.resource,
            "message": r.message,
            "evidence_source": r.evidence_source.value,
        }
        for r in current
        if r.area.value == "vendor" and r.check_id != "WEB-THIRD-PARTY-INVENTORY"
    ]
    now_scores = scores((r.area.value, r.severity.value, r.status.value) for r in current)
    before_scores = scores((r.area.value, r.severity.value, r.status.value) for r in previous)
    failing_now = Counter(r.severity.value for r in current if r.status is Status.FAIL)
    return {
        "report": "posture quarterly security posture report",
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tool": {"name": "posture", "version": __version__},
        "period": {
            "name": period.name,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        },
        "compare": {"name": compare.name, "scans": len(before)},
        "summary": {
            "scores": now_scores,
            "previous_scores": before_scores,
            "failing_by_severity": {s.value: failing_now.get(s.value, 0) for s in Severity},
            "targets": sorted({t["name"] for r in current_rows for t in (r.targets or [])}),
            "scans_in_period": len(in_period),
            "results_at_end": len(current),
            "evidence_sources": dict(Counter(r.evidence_source.value for r in current)),
        },
        "runs": [run.to_dict() for run in runs],
        # never a silently partial quarter: every run whose shards did not all complete
        "incomplete_runs": [run.to_dict() for run in runs if not run.complete],
        "trend": trend(history, period.start, period.end),
        "matrices": matrices,
        "findings": {
            "new": sorted(new, key=lambda f: f["first_seen"]),
            "resolved": sorted(resolved, key=lambda f: f["resolved_at"] or ""),
            "open": sorted(open_, key=lambda f: -f.get("age_days", 0)),
        },
        "waivers": waivers,
        "vendors": vendors,
        "evidence": [
            {
                "scan_id": r.id,
                "started_at": _utc(r.started_at).isoformat(),
                "finished_at": _utc(r.finished_at).isoformat(),
                "targets": [t["name"] for t in (r.targets or [])],
                "tool_version": r.tool_version,
                "policy": r.policy,
                "results": r.result_count,
                "digest": digests[r.id][1],
                "digest_verified": digests[r.id][0] == digests[r.id][1],
            }
            for r in in_period
        ],
        "integrity": {
            "mismatched_scans": mismatched,
            "note": (
                "the stored results of these scans no longer hash to the digest recorded with "
                "them: the history was changed after they were recorded"
                if mismatched
                else "every scan's digest was recomputed from its stored results and matches"
            ),
        },
        "results_at_end": [r.to_dict() for r in current],
        "screenshots": _screenshots(current),
    }


def _screenshots(results: list[Any]) -> list[dict[str, Any]]:
    """What the browser saw, page by page: the screenshots kept beside each scan's outputs, with
    the SHA-256 recorded at the visit (the signed report then vouches for the picture)."""
    from posture.render._common import screenshots

    out = []
    for r in results:
        if r.check_id != "WEB-BROWSER-VISIT":
            continue
        hashes = {
            v.get("screenshot"): v.get("screenshot_sha256") for v in r.evidence.get("visits") or []
        }
        for shot in screenshots(r):
            out.append(
                {
                    "target": r.target,
                    "page": r.resource,
                    "path": shot,
                    "folder": r.evidence.get("evidence_dir"),
                    "sha256": hashes.get(shot),
                    "gpc": shot.endswith("-gpc.png"),
                }
            )
    return out
