"""The cost of row-level security, on and off in the same run, call by call interleaved.

"on": the tenant pool (the restricted role, policies applied, the tenant set in the
transaction's BEGIN), as the API runs a tenant's unit of work; "off": the same unit of work
on the owner's pool (a superuser here, so no policy applies). Each variant runs once per
round, in turn, so the machine's drift hits them alike.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import asyncpg

from domain.model import ResultQuery
from domain.results import StoredHistograms
from infra.postgres.uow import PgUnitOfWork, PgUnitOfWorkFactory
from infra.runtime import open_tenant_pool
from infra.settings import Settings

Call = Callable[[], Awaitable[object]]


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
    """`GET /v1/nps`'s PostgreSQL fallback (the last 30 days) and a one-lookup unit of work."""
    settings = Settings(database_url=db_url, db_pool_size=2)
    tenant_pool = await open_tenant_pool(owner, settings)
    on = PgUnitOfWorkFactory(owner, tenant_pool=tenant_pool)

    def off(tenant: uuid.UUID | None = None) -> PgUnitOfWork:
        """As before row-level security: the owner's connection, a plain BEGIN, no policy."""
        return PgUnitOfWork(owner)

    today = date.today()
    query = ResultQuery(
        tenant_id=tenant_id, survey_id=None, start=today - timedelta(days=29), end=today
    )

    def fallback(uow: Any) -> Call:  # either factory
        return lambda: StoredHistograms(uow).histograms(query, [(query.start, query.end)])

    def lookup(uow: Callable[[uuid.UUID], PgUnitOfWork]) -> Call:
        async def call() -> None:
            async with uow(tenant_id) as tx:
                await tx.tenants.get(tenant_id)

        return call

    async def lookup_two_trips() -> None:
        async with tenant_pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('nps.tenant_id', $1, true)", str(tenant_id))
            assert await conn.fetchrow("SELECT * FROM tenants WHERE id = $1", tenant_id)

    try:
        reads = await _timed(rounds, {"on": fallback(on), "off": fallback(off)})
        small = await _timed(
            rounds * 10,
            {"on": lookup(on), "off": lookup(off), "two_trips": lookup_two_trips},
        )
    finally:
        await tenant_pool.close()
    return {
        "fallback_30d_ms": reads,
        "fallback_ratio": round(reads["on"] / reads["off"], 3),
        "unit_of_work_ms": small,
        "unit_of_work_ratio": round(small["on"] / small["off"], 3),
    }
