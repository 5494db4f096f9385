"""Apply the numbered SQL files in migrations/ once each, under an advisory lock.

The lock is transaction-level and taken again by each migration's transaction, which reads
what is applied under it: a session lock would not survive a pooler in transaction mode
(the next statement may run on another server connection), this one needs no direct
connection.
"""

from __future__ import annotations

from importlib import resources

import asyncpg
import structlog

from infra.postgres.pool import without_statement_timeout

log = structlog.get_logger(__name__)
_LOCK_ID = 0x6E7073  # "nps": one migrator at a time across processes


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("infra.postgres").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.name, entry.read_text()))
    return sorted(found)


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Bring the schema up to date; returns the names of the files applied now."""
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    for version, name, sql in _migrations():
        if version in done or not await _apply(conn, version, name, sql):
            continue
        log.info("migration_applied", migration=name)
        applied_now.append(name)
    return applied_now


async def _apply(conn: asyncpg.Connection, version: int, name: str, sql: str) -> bool:
    """One migration in its own transaction; False when another migrator applied it first."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
        if await conn.fetchval("SELECT true FROM schema_migrations WHERE version = $1", version):
            return False
        await without_statement_timeout(conn)  # a role's limit must not cut a migration short
        await conn.execute(sql)
        await conn.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name
        )
    return True
