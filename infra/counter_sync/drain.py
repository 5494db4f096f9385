"""The outbox drainer: applies what the write path could not (crash, Redis down, rebuild)."""

from __future__ import annotations

import asyncio
from uuid import UUID

import asyncpg
import structlog

from infra.counter_sync.rebuild import DRAIN_TRANSACTIONS, rebuild
from infra.metrics import OUTBOX_DRAINED
from infra.postgres.outbox import delete_outbox, fetch_outbox, tenants_with_outbox
from infra.redis.counters import READY, RedisCounterStore

log = structlog.get_logger(__name__)
MAX_DRAIN_PASSES = 50  # fetches per tenant and tick: one busy tenant cannot starve the rest


async def drain_tenant(pool: asyncpg.Pool, store: RedisCounterStore, tenant_id: UUID) -> int:
    """Apply a tenant's waiting outbox rows; returns how many were applied.

    Meta is read before any row: the generation applied to was read before the rows were
    (see RedisCounterStore). Missing meta, or a `rebuilding` one whose rebuilder is gone,
    means a rebuild; a rebuild in progress elsewhere means wait for the next tick.
    """
    state, gen = await store.meta(tenant_id)
    if state != READY or gen is None:
        await rebuild(pool, store, tenant_id, only_if_needed=True)
        return 0
    applied = 0
    async with pool.acquire() as conn:
        for _ in range(MAX_DRAIN_PASSES):
            rows = await fetch_outbox(conn, tenant_id, DRAIN_TRANSACTIONS)
            if not rows or not await store.apply(tenant_id, gen, rows):
                break
            await delete_outbox(conn, tenant_id, [r.id for r in rows])
            store.deleted(tenant_id, gen, {r.xid for r in rows})
            applied += len(rows)
    OUTBOX_DRAINED.inc(applied)
    return applied


class OutboxDrainer:
    """Every `interval` seconds, drain each tenant with waiting rows; never crashes."""

    def __init__(
        self, pool: asyncpg.Pool, store: RedisCounterStore, *, interval: float = 1.0
    ) -> None:
        self._pool, self._store, self._interval = pool, store, interval

    async def drain_once(self) -> int:
        """One tick; returns the number of rows applied."""
        async with self._pool.acquire() as conn:
            tenants = await tenants_with_outbox(conn)
        applied = 0
        for tenant_id in tenants:
            try:
                applied += await drain_tenant(self._pool, self._store, tenant_id)
            except Exception as exc:  # Redis away or emptied mid-way: the next tick retries
                log.warning("drain_failed", tenant_id=str(tenant_id), error=type(exc).__name__)
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
            await asyncio.sleep(self._interval)
