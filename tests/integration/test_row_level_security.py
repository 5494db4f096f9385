"""Row-level security: the second wall behind every statement's own WHERE tenant_id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID, uuid4

import asyncpg
import msgspec
import pytest

from infra.postgres.pool import create_pool
from infra.postgres.roles import (
    CannotCreateAppRole,
    UnsafeAppRole,
    check_restricted,
    ensure_app_role,
    tenant_tables,
)
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.runtime import open_tenant_pool
from tests.conftest import make_tenant


@dataclass
class Pools:
    pool: asyncpg.Pool  # the owner's
    tenant_pool: asyncpg.Pool  # the restricted role's, as the service opens it


@pytest.fixture(scope="module")
async def runtime(settings) -> AsyncIterator[Pools]:  # type: ignore[no-untyped-def]
    """The service's two pools, opened the way it opens them (on the tests' event loop)."""
    pool = await create_pool(
        settings.database_url, size=4, transaction_pooler=settings.transaction_pooler
    )
    tenant_pool = await open_tenant_pool(pool, settings)
    yield Pools(pool=pool, tenant_pool=tenant_pool)
    await tenant_pool.close()
    await pool.close()


@pytest.fixture
def uow(runtime) -> PgUnitOfWorkFactory:  # type: ignore[no-untyped-def]
    return PgUnitOfWorkFactory(runtime.pool, tenant_pool=runtime.tenant_pool)


async def _two_tenants_with_answers(app_client, admin_headers):  # type: ignore[no-untyped-def]
    tenants = []
    for _ in range(2):
        t = await make_tenant(app_client, admin_headers)
        r = await app_client.post(
            "/v1/surveys", json={"name": "Rel", "kind": "relational"}, headers=t.headers
        )
        assert r.status_code == 201, r.text
        body = {"survey_id": r.json()["id"], "score": 9, "comment": "fine"}
        r = await app_client.post("/v1/responses", json=body, headers=t.headers)
        assert r.status_code == 201, r.text
        tenants.append(UUID(t.id))
    return tenants


async def test_the_service_serves_tenants_as_a_role_that_cannot_bypass_rls(runtime) -> None:
    async with runtime.tenant_pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT current_user AS name, r.rolsuper, r.rolbypassrls, r.rolcreaterole,"
            " (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid) AS owned"
            " FROM pg_roles r WHERE r.rolname = current_user"
        )
        owner = await runtime.pool.fetchval("SELECT current_user")
        assert row["name"] != owner
        assert (row["rolsuper"], row["rolbypassrls"], row["rolcreaterole"]) == (False,) * 3
        assert row["owned"] == 0
        await check_restricted(conn)  # the service's own start-up check agrees
        defaults = await conn.fetchval(
            "SELECT array_to_string(s.setconfig, ',') FROM pg_db_role_setting s"
            " JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = current_user"
        )
        assert "statement_timeout=3000" in defaults  # its own, for a transaction pooler
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM service_secrets")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("ALTER TABLE responses DISABLE ROW LEVEL SECURITY")


async def test_the_owner_is_refused_as_the_tenant_role(runtime) -> None:
    async with runtime.pool.acquire() as conn:
        with pytest.raises(UnsafeAppRole):
            await check_restricted(conn)


async def test_every_tenant_table_has_rls_enabled_forced_and_a_tenant_policy(runtime) -> None:
    async with runtime.pool.acquire() as conn:
        tables = await tenant_tables(conn)
        rows = await conn.fetch(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
            " array(SELECT polname FROM pg_policy p WHERE p.polrelid = c.oid ORDER BY 1) AS pols"
            " FROM pg_class c WHERE c.relname = ANY($1::text[])"
            " AND c.relnamespace = current_schema()::regnamespace",
            tables,
        )
    assert len(rows) == len(tables) >= 19
    for r in rows:
        assert (r["relname"], r["relrowsecurity"], r["relforcerowsecurity"]) == (
            r["relname"],
            True,
            True,
        )
        assert r["pols"] == ["cross_tenant_work", "tenant_isolation"], r["relname"]


async def test_a_query_without_where_tenant_id_sees_only_its_tenant(
    app_client, admin_headers, uow
) -> None:
    a, b = await _two_tenants_with_answers(app_client, admin_headers)
    for mine in (a, b):
        async with uow(mine) as tx:
            conn = tx.connection
            for table in ("responses", "surveys", "api_keys", "counter_outbox", "customers"):
                seen = await conn.fetch(f"SELECT DISTINCT tenant_id FROM {table}")
                assert {r["tenant_id"] for r in seen} <= {mine}, table
            assert await conn.fetchval("SELECT count(*) FROM responses") == 1
            assert [r["id"] for r in await conn.fetch("SELECT id FROM tenants")] == [mine]
            other = b if mine == a else a
            # Even naming the other tenant outright finds nothing.
            assert (
                await conn.fetchval("SELECT count(*) FROM api_keys WHERE tenant_id = $1", other)
                == 0
            )


async def test_a_tenant_cannot_write_rows_of_another(app_client, admin_headers, uow) -> None:
    a, b = await _two_tenants_with_answers(app_client, admin_headers)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with uow(a) as tx:
            await tx.connection.execute(
                "INSERT INTO changes (tenant_id, id, title, effective_on, created_at, updated_at)"
                " VALUES ($1, $2, 'x', current_date, now(), now())",
                b,
                uuid4(),
            )
    async with uow(a) as tx:
        assert (
            await tx.connection.execute(
                "UPDATE responses SET comment = NULL WHERE tenant_id = $1", b
            )
            == "UPDATE 0"
        )
        assert (
            await tx.connection.execute("DELETE FROM api_keys WHERE tenant_id = $1", b)
            == "DELETE 0"
        )


async def test_a_transaction_without_a_tenant_sees_nothing(
    app_client, admin_headers, runtime, uow
) -> None:
    await _two_tenants_with_answers(app_client, admin_headers)
    async with runtime.tenant_pool.acquire() as conn:
        # Never set on this session, then set and ended with an earlier transaction ('').
        for _ in range(2):
            async with conn.transaction():
                assert await conn.fetchval("SELECT count(*) FROM responses") == 0
                assert await conn.fetchval("SELECT count(*) FROM tenants") == 0
            async with conn.transaction():
                await conn.execute("SELECT set_config('nps.tenant_id', $1, true)", str(uuid4()))


async def test_the_tenant_is_set_by_the_transactions_begin(runtime, uow, tenant) -> None:
    async with uow(UUID(tenant.id)) as tx:
        assert await tx.connection.fetchval("SELECT current_setting('nps.tenant_id')") == tenant.id
        async with tx.connection.transaction():  # a savepoint, as the fallback reads take
            assert await tx.connection.fetchval("SELECT count(*) FROM tenants") == 1
    async with uow() as tx:  # operator work: the owner, every tenant
        assert await tx.connection.fetchval("SELECT count(*) FROM tenants") >= 1


async def test_the_tenant_setting_is_an_index_key_evaluated_once(runtime, tenant) -> None:
    async with runtime.tenant_pool.acquire() as conn, conn.transaction():
        await conn.execute(f"SELECT set_config('nps.tenant_id', '{tenant.id}', true)")
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN SELECT count(*) FROM responses"))
    assert "Index" in plan and "Cond: (tenant_id = (NULLIF(current_setting" in plan, plan


async def test_creating_the_role_is_safe_when_processes_start_together(runtime) -> None:
    conns = [await runtime.pool.acquire() for _ in range(3)]
    try:
        logins = await asyncio.gather(*(ensure_app_role(c) for c in conns))
    finally:
        for c in conns:
            await runtime.pool.release(c)
    assert len(set(logins)) == 1
    async with runtime.tenant_pool.acquire() as conn:
        assert await conn.fetchval("SELECT current_user") == logins[0].user


async def test_a_named_app_role_is_used_and_an_unsafe_one_refused(runtime, settings) -> None:
    app_role = await runtime.tenant_pool.fetchval("SELECT current_user")
    async with runtime.pool.acquire() as conn:
        login = await ensure_app_role(conn)
    parts = urlsplit(settings.database_url)
    host = parts.netloc.rsplit("@", 1)[-1]  # host:port, or nothing (a socket in the query)
    named = urlunsplit(parts._replace(netloc=f"{app_role}:{login.password}@{host}"))
    given = msgspec.structs.replace(settings, database_app_url=named)
    pool = await open_tenant_pool(runtime.pool, given)
    try:
        assert await pool.fetchval("SELECT current_user") == app_role
    finally:
        await pool.close()
    unsafe = msgspec.structs.replace(settings, database_app_url=settings.database_url)
    with pytest.raises(UnsafeAppRole):
        await open_tenant_pool(runtime.pool, unsafe)


async def test_an_owner_that_may_not_create_roles_is_told_what_to_do(runtime) -> None:
    async with runtime.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:  # all rolled back below
            app = await conn.fetchval("SELECT current_database()") + "_app"
            name = f"nps_nocreate_{uuid4().hex[:8]}"
            await conn.execute(f'ALTER ROLE "{app}" RENAME TO "{name}_kept"')  # not created yet
            await conn.execute(f'CREATE ROLE "{name}" NOLOGIN')
            await conn.execute(f'GRANT SELECT, INSERT ON service_secrets TO "{name}"')
            await conn.execute(f'SET LOCAL ROLE "{name}"')
            with pytest.raises(CannotCreateAppRole, match="NPS_DATABASE_APP_URL"):
                await ensure_app_role(conn)
        finally:
            await tx.rollback()
