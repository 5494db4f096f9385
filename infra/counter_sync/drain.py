"""The outbox drainer: applies what the write path could not (crash, Redis down, rebuild),
and clears a tenant's `behind` mark once nothing that was waiting is left."""

from __future__ import annotations

import asyncio
from uuid import UUID

import asyncpg
import structlog

from infra.counter_sync.rebuild import apply_waiting, rebuild
from infra.metrics import OUTBOX_DRAINED
from infra.outage import REDIS_DOWN
from infra.postgres.outbox import tenants_with_outbox
from infra.redis.breaker import RedisBreaker
from infra.redis.counters import RedisCounterStore

log = structlog.get_logger(__name__)


async def drain_tenant(
    pool: asyncpg.Pool, store: RedisCounterStore, tenant_id: UUID, *, listed: bool = False
) -> int:
    """Apply the rows waiting in a tenant's outbox when it is called; returns how many.

    Meta is read before any row: the generation applied to was read before the rows were
    (see infra.redis.applier). Missing meta, or a `rebuilding` one whose rebuilder is gone,
    means a rebuild, and so does a generation of an older layout version (one of a newer
    version is left to processes of that version); a rebuild in progress elsewhere means
    wait for the next tick. When every row that waited is applied, the `behind` mark read
    at the start is cleared, unless a writer marked the tenant again meanwhile (its rows
    may have come after the last fetch); `listed`: the tenant is in the set of marked
    tenants (cleared from it too).
    """
    meta = await store.status(tenant_id)
    if store.generations.outdated(meta):
        await rebuild(pool, store, tenant_id, only_if_needed=True)
        return 0
    if store.generations.refuses(tenant_id, meta.layout, meta.gen) or meta.gen is None:
        return 0  # a newer layout's generation: its own processes drain it
    async with pool.acquire() as conn:
        applied = await apply_waiting(
            conn, store, tenant_id, meta.gen, behind=meta.behind, listed=listed
        )
    OUTBOX_DRAINED.inc(applied)
    return applied


class OutboxDrainer:
    """Every `interval` seconds, drain each tenant with waiting rows or marked behind;
    never crashes, and does not call Redis while the breaker says it is away."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: RedisCounterStore,
        *,
        interval: float = 1.0,
        breaker: RedisBreaker | None = None,
    ) -> None:
        self._pool, self._store, self._interval = pool, store, interval
        self._breaker = breaker

    def _redis_away(self) -> bool:
        return self._breaker is not None and not self._breaker.available

    def _failed(self, exc: BaseException) -> None:
        if self._breaker is not None and isinstance(exc, REDIS_DOWN):
            self._breaker.failed(exc)

    async def drain_once(self) -> int:
        """One tick; returns the number of rows applied."""
        if self._redis_away():
            return 0
        async with self._pool.acquire() as conn:
            waiting = await tenants_with_outbox(conn)
        try:
            listed = set(await self._store.behind_tenants())
        except Exception as exc:  # Redis away: each tenant's drain fails the same way
            log.warning("drain_failed", error=type(exc).__name__)
            self._failed(exc)
            listed = set()
        applied = 0
        for tenant_id in [*waiting, *sorted(listed - set(waiting))]:
            if self._redis_away():
                break
            try:
                applied += await drain_tenant(
                    self._pool, self._store, tenant_id, listed=tenant_id in listed
                )
            except Exception as exc:  # Redis away or emptied mid-way: the next tick retries
                log.warning("drain_failed", tenant_id=str(tenant_id), error=type(exc).__name__)
                self._failed(exc)
        try:
            await self._store.forget_deleted()
        except Exception as exc:  # leftover xids are harmless: xids are never reused
            log.warning("forget_applied_failed", error=type(exc).__name__)
        return applied

    async def run(self) -> None:
        """Loop until cancelled; any error is logged and retried on the next tick."""
        while True:
            try:
                await self.drain_once()
            except Exception as exc:  # PostgreSQL away: answers wait in the outbox
                log.warning("drain_failed", error=type(exc).__name__)
                self._failed(exc)
            await asyncio.sleep(self._interval)
