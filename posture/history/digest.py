"""The digest of a recorded scan: SHA-256 over the scan as the database stores it.

Computed when a scan is recorded, and recomputed from the rows whenever a report is built or
verified: a result rewritten in the database (a failure turned into a pass) no longer matches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any


def json_native(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _utc_iso(value: dt.datetime) -> str:
    aware = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return aware.isoformat(timespec="microseconds")


def scan_header(
    started_at: dt.datetime,
    finished_at: dt.datetime,
    tool_version: str,
    policy: str,
    config: str | None,
    targets: Any,
    checks: Any,
    result_count: int,
) -> dict[str, Any]:
    return {
        "started_at": _utc_iso(started_at),
        "finished_at": _utc_iso(finished_at),
        "tool_version": tool_version,
        "policy": policy,
        "config": config,
        "targets": targets,
        "checks": checks,
        "result_count": result_count,
    }


def stored_digest(header: dict[str, Any], result_data: Sequence[Any]) -> str:
    """SHA-256 of a scan as the database holds it: its header and its results, in order.

    Recorded with the scan and recomputed from the rows when a report is built or verified, so
    rewriting a stored result (a failure turned into a pass) no longer matches."""
    return scan_digest({"scan": header, "results": list(result_data)})


def scan_digest(document: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces), fed result by result: a lazy
    document is never one string, and each piece goes through json's C encoder."""
    canonical: dict[str, Any] = {"sort_keys": True, "separators": (",", ":"), "default": str}
    results = document.get("results")
    if results is None:
        return hashlib.sha256(json.dumps(document, **canonical).encode()).hexdigest()
    hole = "\x00posture-results\x00"
    whole = json.dumps({**document, "results": hole}, **canonical)
    head, tail = whole.split(json.dumps(hole), 1)
    digest = hashlib.sha256(head.encode())
    digest.update(b"[")
    for index, item in enumerate(results):
        if index:
            digest.update(b",")
        digest.update(json.dumps(item, **canonical).encode())
    digest.update(b"]")
    digest.update(tail.encode())
    return digest.hexdigest()


def recompute(conn: Any, scan_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """scan id -> (stored digest, digest recomputed from the stored scan and its results).

    A scan missing from the database recomputes to the empty string."""
    from sqlalchemy import select

    from posture.history.schema import results, scans

    out: dict[int, tuple[str, str]] = {}
    if not scan_ids:
        return out
    rows = {r.id: r for r in conn.execute(select(scans).where(scans.c.id.in_(list(scan_ids))))}
    datas: dict[int, list[Any]] = {i: [] for i in scan_ids}
    for row in conn.execute(
        select(results.c.scan_id, results.c.data)
        .where(results.c.scan_id.in_(list(scan_ids)))
        .order_by(results.c.scan_id, results.c.id)
    ):
        datas[row.scan_id].append(row.data)
    for scan_id in scan_ids:
        scan = rows.get(scan_id)
        if scan is None:
            out[scan_id] = ("", "")
            continue
        header = scan_header(
            scan.started_at,
            scan.finished_at,
            scan.tool_version,
            scan.policy,
            scan.config,
            scan.targets,
            scan.checks,
            scan.result_count,
        )
        out[scan_id] = (str(scan.digest), stored_digest(header, datas[scan_id]))
    return out
