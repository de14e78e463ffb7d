"""Tables of the scan history, and the migrations that get any older database to this version.

Versioned by a ``schema_version`` table; each migration is a function that runs in the same
transaction as the version bump, so a database is always at one version or the next.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.engine import Connection

SCHEMA_VERSION = 3
metadata = MetaData()

schema_version = Table(
    "posture_schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
)

scans = Table(
    "posture_scans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False, index=True),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("tool_version", String(40), nullable=False),
    Column("policy", String(100), nullable=False),
    Column("config", Text),
    Column("targets", JSON, nullable=False),
    Column("checks", JSON, nullable=False),
    Column("result_count", Integer, nullable=False),
    # SHA-256 of the scan's canonical JSON: what a signed report's manifest lists
    Column("digest", String(64), nullable=False),
    # v2: the run (all shards of one estate scan) and the shard this scan is; NULL when unsharded
    Column("run_id", String(200), index=True),
    Column("shard_index", Integer),
    Column("shard_count", Integer),
)

results = Table(
    "posture_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scan_id", Integer, ForeignKey("posture_scans.id", ondelete="CASCADE"), nullable=False),
    Column("fingerprint", String(32), nullable=False),
    Column("check_id", String(200), nullable=False),
    Column("title", Text, nullable=False),
    Column("area", String(20), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("status", String(10), nullable=False),
    Column("target", Text, nullable=False),
    Column("target_kind", String(20), nullable=False),
    Column("resource", Text),
    Column("data", JSON, nullable=False),  # the full result as in the JSON document
    Index("ix_posture_results_scan", "scan_id"),
    Index("ix_posture_results_fingerprint", "fingerprint"),
)

findings = Table(
    "posture_findings",
    metadata,
    Column("fingerprint", String(32), primary_key=True),
    Column("check_id", String(200), nullable=False),
    Column("target", Text, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("last_status", String(10), nullable=False),
)

# v2: one row per shard of a run, written when the shard starts and again when it ends, so a
# shard that was killed (no end) or failed is visible, and one that never started is missing.
run_shards = Table(
    "posture_run_shards",
    metadata,
    Column("run_id", String(200), primary_key=True),
    Column("shard_index", Integer, primary_key=True),  # 1-based
    Column("shard_count", Integer, nullable=False),
    Column("state", String(10), nullable=False),  # running, completed, failed
    Column("started_at", DateTime(timezone=True), nullable=False, index=True),
    Column("finished_at", DateTime(timezone=True)),
    Column("scan_id", Integer),  # the completed scan; the attempt before while re-running
    Column("targets", Integer, nullable=False),
    Column("worker", String(200)),  # host or pod name
    Column("message", Text),
)

Migration = Callable[[Connection], None]


def _v1_to_v2(conn: Connection) -> None:
    from sqlalchemy import inspect

    have = {c["name"] for c in inspect(conn).get_columns("posture_scans")}
    for column in ("run_id VARCHAR(200)", "shard_index INTEGER", "shard_count INTEGER"):
        if column.split()[0] not in have:
            conn.execute(text(f"ALTER TABLE posture_scans ADD COLUMN {column}"))
    indexes = {i["name"] for i in inspect(conn).get_indexes("posture_scans")}
    if "ix_posture_scans_run_id" not in indexes:
        conn.execute(text("CREATE INDEX ix_posture_scans_run_id ON posture_scans (run_id)"))
    run_shards.create(conn, checkfirst=True)


def _redigest_v3(conn: Connection) -> None:
    """Version 1 digested the whole JSON document, which the database does not keep (warnings,
    meta), so its digests could never be recomputed. Re-digest every scan as stored; from here
    on a rewritten result no longer matches. (Scans recorded before this migration are vouched
    for as they stood when it ran.)"""
    from sqlalchemy import select, update

    from posture.history.digest import recompute

    ids = [row.id for row in conn.execute(select(scans.c.id))]
    for start in range(0, len(ids), 500):
        for scan_id, (_, again) in recompute(conn, ids[start : start + 500]).items():
            conn.execute(update(scans).where(scans.c.id == scan_id).values(digest=again))


# version -> migration that brings the previous version to it (a new database is created whole)
MIGRATIONS: dict[int, Migration] = {2: _v1_to_v2, 3: _redigest_v3}


def current_version(conn: Connection) -> int:
    if not conn.dialect.has_table(conn, "posture_schema_version"):
        return 0
    value = conn.execute(text("SELECT MAX(version) FROM posture_schema_version")).scalar()
    return int(value or 0)


def migrate(conn: Connection) -> int:
    """Apply every pending migration; return the version reached."""
    if conn.dialect.name == "postgresql":
        # shards of one run start together: one migrates, the others wait and find it done
        conn.execute(text("SELECT pg_advisory_xact_lock(7065727475726531)"))
    version = current_version(conn)
    if version > SCHEMA_VERSION:
        from posture.errors import ConfigError

        raise ConfigError(
            f"history database is at schema version {version}, newer than this posture "
            f"({SCHEMA_VERSION}): upgrade posture"
        )
    if version == 0:
        metadata.create_all(conn)
        for reached in range(1, SCHEMA_VERSION + 1):  # created whole: every version it includes
            conn.execute(schema_version.insert().values(version=reached))
        return SCHEMA_VERSION
    for target in range(version + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[target](conn)
        conn.execute(schema_version.insert().values(version=target))
    return SCHEMA_VERSION
