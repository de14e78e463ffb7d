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


_CANONICAL: dict[str, Any] = {"sort_keys": True, "separators": (",", ":"), "default": str}
_HOLE = "\x00posture-results\x00"


class DigestStream:
    """SHA-256 of the canonical JSON (sorted keys, no spaces) of ``document`` with its
    ``results`` list fed one item at a time: the results are never all held at once, and each
    goes through json's C encoder."""

    def __init__(self, document: dict[str, Any]) -> None:
        whole = json.dumps({**document, "results": _HOLE}, **_CANONICAL)
        head, self._tail = whole.split(json.dumps(_HOLE), 1)
        self._hash = hashlib.sha256(head.encode())
        self._hash.update(b"[")
        self._count = 0

    def add(self, item: Any) -> None:
        if self._count:
            self._hash.update(b",")
        self._hash.update(json.dumps(item, **_CANONICAL).encode())
        self._count += 1

    def hexdigest(self) -> str:
        final = self._hash.copy()
        final.update(b"]")
        final.update(self._tail.encode())
        return final.hexdigest()


def stored_stream(header: dict[str, Any]) -> DigestStream:
    """The digest of a scan as the database holds it (its header, then its results in order),
    to be fed the results. Recorded with the scan and recomputed from the rows when a report is
    built or verified, so rewriting a stored result (a failure turned into a pass) no longer
    matches."""
    return DigestStream({"scan": header})


def recompute(conn: Any, scan_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """scan id -> (stored digest, digest recomputed from the stored scan and its results).

    A scan missing from the database recomputes to the empty string."""
    from sqlalchemy import select

    from posture.history.schema import results, scans

    out: dict[int, tuple[str, str]] = {}
    if not scan_ids:
        return out
    rows = {r.id: r for r in conn.execute(select(scans).where(scans.c.id.in_(list(scan_ids))))}
    streams = {
        scan_id: stored_stream(
            scan_header(
                scan.started_at,
                scan.finished_at,
                scan.tool_version,
                scan.policy,
                scan.config,
                scan.targets,
                scan.checks,
                scan.result_count,
            )
        )
        for scan_id, scan in rows.items()
    }
    for row in conn.execute(
        select(results.c.scan_id, results.c.data)
        .where(results.c.scan_id.in_(list(scan_ids)))
        .order_by(results.c.scan_id, results.c.id)
        .execution_options(yield_per=500)
    ):
        streams[row.scan_id].add(row.data)
    for scan_id in scan_ids:
        scan = rows.get(scan_id)
        if scan is None:
            out[scan_id] = ("", "")
            continue
        out[scan_id] = (str(scan.digest), streams[scan_id].hexdigest())
    return out
