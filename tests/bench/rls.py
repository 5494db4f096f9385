"""The cost of row-level security, on and off in the same run, call by call interleaved.

"on": the tenant pool (the restricted role, policies applied, the tenant set by the
transaction's BEGIN); "off": the owner's pool (a superuser here, so no policy applies). Each
variant runs once per round, in turn, so the machine's drift hits them alike.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import asyncpg

from infra.postgres.results import _PERIODS
from infra.postgres.uow import PgUnitOfWork
from infra.runtime import open_tenant_pool
from infra.settings import Settings

Call = Callable[[], Awaitable[object]]


def _periods_args(tenant_id: uuid.UUID) -> tuple[object, ...]:
    """What `GET /v1/nps` (the last 30 days, all surveys) asks the fallback."""
    today = date.today()
    return (tenant_id, [today - timedelta(days=29)], [today], None, {})


async def _timed(rounds: int, variants: dict[str, Call]) -> dict[str, float]:
    took: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, call in variants.items():
            started = time.perf_counter()
            await call()
            took[name].append(time.perf_counter() - started)
    return {name: round(statistics.median(t) * 1000, 3) for name, t in took.items()}


async def rls_cost(
    db_url: str, owner: asyncpg.Pool, tenant_id: uuid.UUID, rounds: int
) -> dict[str, Any]:
    settings = Settings(database_url=db_url, db_pool_size=2, db_statement_timeout_s=600)
    tenant_pool = await open_tenant_pool(owner, settings)
    args = _periods_args(tenant_id)

    async def fallback(pool: asyncpg.Pool, tenant: uuid.UUID | None) -> None:
        async with PgUnitOfWork(pool, tenant) as tx:
            assert await tx.connection.fetch(_PERIODS, *args)

    async def lookup(pool: asyncpg.Pool, tenant: uuid.UUID | None) -> None:
        async with PgUnitOfWork(pool, tenant) as tx:
            await tx.tenants.get(tenant_id)

    async def lookup_two_trips() -> None:
        async with tenant_pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('nps.tenant_id', $1, true)", str(tenant_id))
            assert await conn.fetchrow("SELECT * FROM tenants WHERE id = $1", tenant_id)

    try:
        reads = await _timed(
            rounds,
            {"on": lambda: fallback(tenant_pool, tenant_id), "off": lambda: fallback(owner, None)},
        )
        small = await _timed(
            rounds * 10,
            {
                "on": lambda: lookup(tenant_pool, tenant_id),
                "off": lambda: lookup(owner, None),
                "two_trips": lookup_two_trips,
            },
        )
    finally:
        await tenant_pool.close()
    return {
        "fallback_30d_ms": reads,
        "fallback_ratio": round(reads["on"] / reads["off"], 3),
        "unit_of_work_ms": small,
        "unit_of_work_ratio": round(small["on"] / small["off"], 3),
    }
