"""What a pooler in transaction mode needs of the service: no server state outlives a
transaction. Run directly and through PgBouncer (make test-scale); the PgBouncer-only tests
say so."""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid

import asyncpg
import pytest

from infra.counter_sync.rebuild import tenant_lock
from infra.postgres.migrate import _migrations, migrate
from infra.postgres.pool import create_pool, server_cursor
from tests.conftest import POOLED, _with_database, url_database

pgbouncer_only = pytest.mark.skipif(not POOLED, reason="runs through PgBouncer (make test-scale)")


def _direct(database_url: str) -> str:
    """The session's database on the server itself, past the pooler (when there is one)."""
    if not POOLED:
        return database_url
    return _with_database(os.environ["NPS_TEST_DATABASE_URL"], url_database(database_url))


async def _prepared_statements(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn, conn.transaction():  # one server connection throughout
        for _ in range(3):
            await conn.fetchval("SELECT count(*) FROM tenants WHERE id = $1", uuid.uuid4())
        # asyncpg's names: behind the pooler the server connection is shared with others.
        sql = "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE '\\_\\_asyncpg\\_%'"
        return int(await conn.fetchval(sql))


async def test_a_pool_told_about_the_pooler_keeps_no_prepared_statement(database_url) -> None:
    pool = await create_pool(database_url, size=1, transaction_pooler=True)
    try:
        assert await _prepared_statements(pool) == 0
    finally:
        await pool.close()


async def test_a_server_cursor_leaves_no_prepared_statement_behind(database_url) -> None:
    """asyncpg's own cursor leaves its statement on the server past the commit, to be closed
    by the client's next prepared statement, which a transaction pooler may send to another
    server connection. The check is one simple query, which asyncpg sends as it is."""
    conn = await asyncpg.connect(_direct(database_url), statement_cache_size=0)
    try:
        async with conn.transaction():
            rows = server_cursor(conn, "SELECT generate_series(1, $1::int) AS n", 25, prefetch=10)
            assert [r["n"] async for r in rows] == list(range(1, 26))
        await conn.execute(
            "DO $$ BEGIN IF EXISTS (SELECT FROM pg_prepared_statements) THEN"
            " RAISE EXCEPTION 'a prepared statement is left'; END IF; END $$"
        )
    finally:
        await conn.close()


@pytest.mark.skipif(POOLED, reason="PgBouncer refuses this pool (see the next test)")
async def test_a_direct_pool_keeps_its_prepared_statements(database_url) -> None:
    pool = await create_pool(database_url, size=1)
    try:
        assert await _prepared_statements(pool) >= 2  # the query, and the count itself
    finally:
        await pool.close()


@pgbouncer_only
async def test_pgbouncer_refuses_a_pool_not_told_about_it(database_url) -> None:
    """The statement_timeout startup parameter: the reason the setting exists."""
    with pytest.raises(asyncpg.PostgresError, match="unsupported startup parameter"):
        await create_pool(database_url, size=1)


@pgbouncer_only
async def test_ten_client_connections_share_at_most_five_server_connections(
    database_url,
) -> None:
    from tests.pgbouncer import POOL_SIZE

    pool = await create_pool(database_url, size=10, transaction_pooler=True)
    direct = await asyncpg.connect(_direct(database_url))
    peak = 0

    async def busy() -> None:
        async with pool.acquire() as conn:
            await conn.execute("SELECT pg_sleep(0.3)")

    async def sample() -> None:
        nonlocal peak
        while True:
            n = await direct.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND usename = current_user"
                " AND pid <> pg_backend_pid()"
            )
            peak = max(peak, int(n))
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    try:
        await asyncio.gather(*(busy() for _ in range(30)))
        assert pool.get_size() == 10  # every client connection was opened and used
    finally:
        sampler.cancel()
        await pool.close()
        await direct.close()
    assert 1 <= peak <= POOL_SIZE


async def test_a_rebuild_lock_holds_while_its_pool_runs_other_transactions(
    database_url,
) -> None:
    """Behind a transaction pooler a session lock would be taken on one server connection
    and found free (or already ours) from another; the lock's own transaction keeps it."""
    pool = await create_pool(database_url, size=4, transaction_pooler=POOLED)
    tenant_id = uuid.uuid4()
    try:
        async with tenant_lock(pool, tenant_id, wait=False) as locked:
            assert locked
            for _ in range(5):  # other work on the same pool meanwhile
                await pool.fetchval("SELECT 1")
                async with tenant_lock(pool, tenant_id, wait=False) as second:
                    assert not second
        async with tenant_lock(pool, tenant_id, wait=False) as again:
            assert again
    finally:
        await pool.close()


async def test_two_migrators_at_once_apply_each_migration_once(server_urls) -> None:
    name = f"nps_migrate_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_urls[0])
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server_urls[0], name)
    conns = [await asyncpg.connect(url, statement_cache_size=0) for _ in range(2)]
    try:
        applied = await asyncio.gather(*(migrate(c) for c in conns))
        files = [n for _, n, _ in _migrations()]
        assert sorted(applied[0] + applied[1]) == sorted(files)
        versions = await conns[0].fetchval("SELECT count(*) FROM schema_migrations")
        assert versions == len(files)
        assert await migrate(conns[0]) == []
    finally:
        for c in conns:
            await c.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
