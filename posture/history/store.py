"""Record scans in a database and read them back: SQLite by default, PostgreSQL by URL.

One transaction per scan: a scan killed halfway leaves nothing behind, and two scans writing at
once both land (SQLite in WAL mode with a busy timeout and immediate write transactions;
PostgreSQL's own row locking). Findings are keyed by fingerprint, so each one's first seen, last
seen and resolved times are known.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from posture.errors import PostureError
from posture.history.digest import json_native, scan_header, stored_digest
from posture.history.schema import findings, migrate, results, scans
from posture.model import Result, Status
from posture.scanreport import ScanReport

ENV = "POSTURE_DB"
_OPEN = (
    Status.FAIL.value,
    Status.WAIVED.value,
)  # a waived finding is still open: accepted, not fixed


class HistoryError(PostureError):
    exit_code = 2


def default_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "posture" / "history.sqlite"


def database_url(value: str | None = None) -> str:
    """--db, else $POSTURE_DB, else a SQLite file in the user data dir. A bare path is SQLite."""
    value = value or os.environ.get(ENV) or str(default_path())
    if "://" in value:
        return value
    path = Path(value).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock up front: no upgrade deadlock


@dataclass
class History:
    engine: Engine
    url: str

    @classmethod
    def open(cls, url: str | None = None) -> History:
        resolved = database_url(url)
        if resolved.startswith("postgresql://"):
            resolved = "postgresql+psycopg://" + resolved.removeprefix("postgresql://")
        try:
            engine = create_engine(resolved, future=True, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:  # ValueError: a bad port
            raise HistoryError(f"history database {_safe(resolved)}: {exc}") from None
        if engine.dialect.name == "sqlite":
            _sqlite_pragmas(engine)
        history = cls(engine, resolved)
        history._migrate()
        return history

    def _migrate(self) -> None:
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    migrate(conn)
                return
            except OperationalError as exc:
                if attempt == 2:
                    raise HistoryError(f"history database {_safe(self.url)}: {exc.orig}") from None
            except SQLAlchemyError as exc:
                if attempt == 2:  # a concurrent creator won the race twice: report it
                    raise HistoryError(f"history database {_safe(self.url)}: {exc}") from None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc.__class__.__name__
            raise HistoryError(f"history database {_safe(self.url)}: {cause}") from None

    def record(self, report: ScanReport) -> int:
        """Store one scan and update its findings, all in one transaction. Returns the scan id."""
        document = report.to_dict()
        # stored as it will read back, so the digest can be recomputed from the database alone
        document["targets"] = json_native(document["targets"])
        document["checks"] = json_native(document.get("checks", {}))
        document["results"] = json_native(document["results"])
        digest = stored_digest(
            scan_header(
                report.started_at,
                report.finished_at,
                report.tool_version,
                report.policy,
                report.config_path,
                document["targets"],
                document["checks"],
                len(report.results),
            ),
            document["results"],
        )
        when = report.started_at
        with self.transaction() as conn:
            scan_id = conn.execute(
                scans.insert().values(
                    started_at=report.started_at,
                    finished_at=report.finished_at,
                    tool_version=report.tool_version,
                    policy=report.policy,
                    config=report.config_path,
                    targets=document["targets"],
                    checks=document["checks"],
                    result_count=len(report.results),
                    digest=digest,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            rows = [
                {
                    "scan_id": scan_id,
                    "fingerprint": r.fingerprint,
                    "check_id": r.check_id,
                    "title": r.title,
                    "area": r.area.value,
                    "severity": r.severity.value,
                    "status": r.status.value,
                    "target": r.target,
                    "target_kind": r.target_kind.value,
                    "resource": r.resource,
                    "data": data,
                }
                for r, data in zip(report.results, document["results"], strict=True)
            ]
            if rows:
                conn.execute(results.insert(), rows)
            self._update_findings(conn, report, when)
        return int(scan_id)

    def _update_findings(self, conn: Connection, report: ScanReport, when: dt.datetime) -> None:
        current = {r.fingerprint: r for r in report.results}
        known = {
            row.fingerprint: row
            for row in conn.execute(
                select(findings).where(findings.c.target.in_({r.target for r in report.results}))
            )
        }
        checks_by_target: dict[str, set[str]] = {}
        for r in report.results:
            checks_by_target.setdefault(r.target, set()).add(r.check_id)
        for fp, r in current.items():
            row = known.get(fp)
            if r.status.value in _OPEN:
                if row is None:
                    conn.execute(
                        findings.insert().values(
                            fingerprint=fp,
                            check_id=r.check_id,
                            target=r.target,
                            first_seen=when,
                            last_seen=when,
                            resolved_at=None,
                            last_status=r.status.value,
                        )
                    )
                else:
                    conn.execute(
                        update(findings)
                        .where(findings.c.fingerprint == fp)
                        .values(last_seen=when, resolved_at=None, last_status=r.status.value)
                    )
            elif row is not None:
                values: dict[str, Any] = {"last_status": r.status.value, "last_seen": when}
                if row.resolved_at is None and r.status is Status.PASS:
                    values["resolved_at"] = when
                conn.execute(update(findings).where(findings.c.fingerprint == fp).values(**values))
        for fp, row in known.items():
            if fp in current or row.resolved_at is not None:
                continue
            evaluated = checks_by_target.get(row.target, set()) | set(report.checks)
            if row.check_id in evaluated:  # evaluated again and no longer found: resolved
                conn.execute(
                    update(findings)
                    .where(findings.c.fingerprint == fp)
                    .values(resolved_at=when, last_status=Status.PASS.value)
                )

    # reading -------------------------------------------------------------------------------
    def scans_between(self, start: dt.datetime | None, end: dt.datetime) -> list[Any]:
        query = (
            select(scans).where(scans.c.started_at < end).order_by(scans.c.started_at, scans.c.id)
        )
        if start is not None:
            query = query.where(scans.c.started_at >= start)
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def results_of(self, scan_ids: Sequence[int]) -> dict[int, list[Result]]:
        out: dict[int, list[Result]] = {i: [] for i in scan_ids}
        if not scan_ids:
            return out
        with self.engine.connect() as conn:
            for row in conn.execute(
                select(results.c.scan_id, results.c.data).where(
                    results.c.scan_id.in_(list(scan_ids))
                )
            ):
                out[row.scan_id].append(Result.from_dict(row.data))
        return out

    def digest_of(self, scan_id: int) -> str:
        with self.engine.connect() as conn:
            value = conn.execute(select(scans.c.digest).where(scans.c.id == scan_id)).scalar()
        return str(value or "")

    def recompute_digests(self, scan_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """scan id -> (stored digest, digest recomputed from the stored scan and its results).

        A scan missing from the database recomputes to the empty string."""
        from posture.history.digest import recompute

        with self.engine.connect() as conn:
            return recompute(conn, scan_ids)

    def findings(self) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(findings)))


def _safe(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
