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

from sqlalchemy import create_engine, delete, event, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from posture.errors import PostureError
from posture.history.digest import json_native, scan_header, stored_stream
from posture.history.schema import findings, migrate, results, run_shards, scans
from posture.model import Result, Status
from posture.scanreport import ScanReport

ENV = "POSTURE_DB"
_OPEN = (
    Status.FAIL.value,
    Status.WAIVED.value,
)  # a waived finding is still open: accepted, not fixed


_BATCH = 500  # result rows per INSERT: memory bounded whatever the estate's size


class HistoryError(PostureError):
    exit_code = 2


@dataclass(frozen=True)
class RunShard:
    """Which run a scan belongs to, and which of its shards it is (1-based)."""

    run_id: str
    index: int = 1
    count: int = 1

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class ShardState:
    index: int
    state: str  # completed, running (or killed), failed, missing
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    scan_id: int | None = None
    targets: int = 0
    worker: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class RunStatus:
    """A run's shards as the database knows them: complete only when every one completed."""

    run_id: str
    count: int
    shards: tuple[ShardState, ...]
    started_at: dt.datetime

    @property
    def complete(self) -> bool:
        return all(s.state == "completed" for s in self.shards)

    @property
    def scan_ids(self) -> list[int]:
        return [s.scan_id for s in self.shards if s.scan_id is not None]

    def problems(self) -> list[str]:
        """One plain sentence per shard that did not complete."""
        out = []
        for s in self.shards:
            label = f"shard {s.index}/{self.count}"
            if s.state == "missing":
                out.append(f"{label} never started (no record of it)")
            elif s.state == "running":
                since = _utc(s.started_at).isoformat(timespec="seconds") if s.started_at else "?"
                out.append(
                    f"{label} started at {since} on {s.worker or 'an unknown worker'} and never "
                    "finished (killed, or still running)"
                )
            elif s.state == "failed":
                out.append(f"{label} failed: {s.message or 'no reason recorded'}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "shards": self.count,
            "complete": self.complete,
            "completed": [s.index for s in self.shards if s.state == "completed"],
            "problems": self.problems(),
            "started_at": _utc(self.started_at).isoformat(timespec="seconds"),
        }


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


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

    # runs and shards ------------------------------------------------------------------------
    def start_shard(
        self, run: RunShard, started_at: dt.datetime, targets: int, worker: str | None = None
    ) -> None:
        """Mark a shard running, in its own transaction, before it scans: a shard killed from
        here on leaves the run visibly incomplete. A re-run keeps the earlier attempt's scan
        until its own results replace them."""
        with self.transaction() as conn:
            counts = {
                row.shard_count
                for row in conn.execute(
                    select(run_shards.c.shard_count).where(run_shards.c.run_id == run.run_id)
                )
            }
            if counts and counts != {run.count}:
                raise HistoryError(
                    f"run {run.run_id} has {sorted(counts)[0]} shards in the history; this "
                    f"shard says {run.count}: use a new --run-id for a different split"
                )
            values = {
                "shard_count": run.count,
                "state": "running",
                "started_at": started_at,
                "finished_at": None,
                "targets": targets,
                "worker": (worker or "")[:200] or None,
                "message": None,
            }
            key = (run_shards.c.run_id == run.run_id) & (run_shards.c.shard_index == run.index)
            if conn.execute(select(run_shards.c.run_id).where(key)).first() is None:
                stmt = _insert(conn)(run_shards).values(
                    run_id=run.run_id, shard_index=run.index, **values
                )
                conn.execute(
                    stmt.on_conflict_do_update(  # a twin started at the same instant
                        index_elements=["run_id", "shard_index"], set_=values
                    )
                )
            else:
                conn.execute(update(run_shards).where(key).values(**values))

    def fail_shard(self, run: RunShard, message: str) -> None:
        key = (run_shards.c.run_id == run.run_id) & (run_shards.c.shard_index == run.index)
        with self.transaction() as conn:
            conn.execute(
                update(run_shards)
                .where(key)
                .values(state="failed", finished_at=dt.datetime.now(dt.UTC), message=message[:2000])
            )

    def run_status(self, run_id: str) -> RunStatus | None:
        with self.engine.connect() as conn:
            rows = list(conn.execute(select(run_shards).where(run_shards.c.run_id == run_id)))
        if not rows:
            return None
        count = max(r.shard_count for r in rows)
        by_index = {r.shard_index: r for r in rows}
        shards = []
        for index in range(1, count + 1):
            row = by_index.get(index)
            if row is None:
                shards.append(ShardState(index, "missing"))
                continue
            shards.append(
                ShardState(
                    index,
                    row.state,
                    row.started_at,
                    row.finished_at,
                    row.scan_id,
                    row.targets,
                    row.worker,
                    row.message,
                )
            )
        started = min(_utc(r.started_at) for r in rows)
        return RunStatus(run_id, count, tuple(shards), started)

    def runs_between(self, start: dt.datetime | None, end: dt.datetime) -> list[RunStatus]:
        """Every run with a shard started in the window, oldest first."""
        query = select(run_shards.c.run_id).where(run_shards.c.started_at < end).distinct()
        if start is not None:
            query = query.where(run_shards.c.started_at >= start)
        with self.engine.connect() as conn:
            ids = [row.run_id for row in conn.execute(query)]
        found = [s for s in (self.run_status(i) for i in ids) if s is not None]
        return sorted(found, key=lambda r: (r.started_at, r.run_id))

    def latest_run(self) -> RunStatus | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(run_shards.c.run_id).order_by(run_shards.c.started_at.desc()).limit(1)
            ).first()
        return self.run_status(row.run_id) if row is not None else None

    def record(self, report: ScanReport, run: RunShard | None = None) -> int:
        """Store one scan and update its findings, all in one transaction. Returns the scan id.

        With ``run``, the shard's earlier results in that run (an earlier attempt) are replaced
        in the same transaction and the shard is marked completed: re-running a shard is
        idempotent.
        """
        # stored as it will read back, so the digest can be recomputed from the database alone
        document = report.to_dict(lazy=True)
        document["targets"] = json_native(document["targets"])
        document["checks"] = json_native(document.get("checks", {}))
        # The digest is fed batch by batch as the results are written (never all of them as JSON
        # at once) and stored at the end of the same transaction.
        digest = stored_stream(
            scan_header(
                report.started_at,
                report.finished_at,
                report.tool_version,
                report.policy,
                report.config_path,
                document["targets"],
                document["checks"],
                len(report.results),
            )
        )
        when = report.started_at
        with self.transaction() as conn:
            if run is not None:
                earlier = [
                    row.id
                    for row in conn.execute(
                        select(scans.c.id).where(
                            (scans.c.run_id == run.run_id) & (scans.c.shard_index == run.index)
                        )
                    )
                ]
                if earlier:
                    conn.execute(delete(results).where(results.c.scan_id.in_(earlier)))
                    conn.execute(delete(scans).where(scans.c.id.in_(earlier)))
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
                    digest="",  # set below, once every result is in
                    run_id=run.run_id if run else None,
                    shard_index=run.index if run else None,
                    shard_count=run.count if run else None,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            for start in range(0, len(report.results), _BATCH):
                batch = report.results[start : start + _BATCH]
                datas = [json_native(r.to_dict()) for r in batch]
                for data in datas:
                    digest.add(data)
                conn.execute(
                    results.insert(),
                    [
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
                        for r, data in zip(batch, datas, strict=True)
                    ],
                )
            conn.execute(
                scans.update().where(scans.c.id == scan_id).values(digest=digest.hexdigest())
            )
            self._update_findings(conn, report, when)
            if run is not None:
                key = (run_shards.c.run_id == run.run_id) & (run_shards.c.shard_index == run.index)
                values = {
                    "shard_count": run.count,
                    "state": "completed",
                    "finished_at": report.finished_at,
                    "scan_id": int(scan_id),
                    "targets": len(report.targets),
                    "message": None,
                }
                if conn.execute(update(run_shards).where(key).values(**values)).rowcount == 0:
                    conn.execute(
                        run_shards.insert().values(
                            run_id=run.run_id,
                            shard_index=run.index,
                            started_at=report.started_at,
                            **values,
                        )
                    )
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

    def scans_of(self, scan_ids: Sequence[int]) -> list[Any]:
        if not scan_ids:
            return []
        query = select(scans).where(scans.c.id.in_(list(scan_ids))).order_by(scans.c.id)
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


def _insert(conn: Connection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (PostgreSQL and SQLite both do)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _safe(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
