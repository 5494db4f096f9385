"""Keeping Redis counters equal to PostgreSQL: rebuild, outbox drain, verify.

Rebuild of one tenant, without stopping ingestion (ARCHITECTURE.md):
1. meta := rebuilding with a new generation; appliers of the old one are refused and
   keep their outbox rows; reads go to PostgreSQL.
2. In a REPEATABLE READ transaction take snapshot S and aggregate the tenant's answers;
   write them into the new generation's keys.
3. Delete the outbox rows S saw: the aggregate contains them.
4. Apply the remaining rows (committed after S) to the new generation, delete them.
5. meta := ready with the new generation (only if still rebuilding it); drop old keys.
Every row deleted by an applier before step 1 committed before S, so it is counted once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from uuid import UUID

import asyncpg
import structlog

from domain.periods import day_key, month_key
from infra.postgres.outbox import (
    delete_outbox,
    delete_seen_by_snapshot,
    fetch_outbox,
    tenants_with_outbox,
)
from infra.postgres.results import AggregateRow, aggregate
from infra.redis import keys as k
from infra.redis.counters import READY, REBUILDING, RedisCounterStore

log = structlog.get_logger(__name__)
DRAIN_TRANSACTIONS = 20  # writing transactions per fetch (each up to ingest_max_rows rows)
MAX_DRAIN_PASSES = 50
MAX_CATCH_UP_PASSES = 50


class RebuildAborted(RuntimeError):
    """Meta changed under the rebuild (Redis emptied meanwhile); the caller may retry."""


def fold(
    rows: Iterable[AggregateRow], tenant_id: UUID, gen: int
) -> tuple[dict[str, list[int]], set[tuple[str, str]]]:
    """Expected counter hashes {key: 11 bins} and set members {(set key, member)}."""
    hists: dict[str, list[int]] = {}
    members: set[tuple[str, str]] = set()
    for r in rows:
        seg = k.NO_SEGMENT if r.dimension is None else k.segment(r.dimension, r.value or "")
        if r.dimension is not None:
            members.add((k.dims_key(tenant_id, gen), r.dimension))
            members.add((k.values_key(tenant_id, gen, r.dimension), r.value or ""))
        buckets = (day_key(r.local_date), month_key(r.local_date.year, r.local_date.month))
        for scope in (str(r.survey_id), k.ALL_SURVEYS):
            for bucket in buckets:
                key = k.hist_key(tenant_id, gen, scope, bucket, seg)
                hists.setdefault(key, [0] * 11)[r.score] += r.n
    return hists, members


async def _write_generation(
    store: RedisCounterStore, hists: dict[str, list[int]], members: set[tuple[str, str]]
) -> None:
    items = list(hists.items())
    for start in range(0, max(len(items), 1), 1000):
        async with store.redis.pipeline(transaction=False) as pipe:
            for key, bins in items[start : start + 1000]:
                pipe.hset(key, mapping={str(s): n for s, n in enumerate(bins) if n})
            if start == 0:
                for set_key, member in members:
                    pipe.sadd(set_key, member)
            await pipe.execute()


async def _drop_other_generations(store: RedisCounterStore, tenant_id: UUID, keep: int) -> None:
    keep_prefix = k.gen_prefix(tenant_id, keep).encode()
    batch: list[bytes] = []
    async for key in store.redis.scan_iter(match=f"{k.tenant_prefix(tenant_id)}g*", count=1000):
        if not key.startswith(keep_prefix):
            batch.append(key)
        if len(batch) >= 1000:
            await store.redis.unlink(*batch)
            batch = []
    if batch:
        await store.redis.unlink(*batch)


async def _catch_up(
    conn: asyncpg.Connection, store: RedisCounterStore, tenant_id: UUID, gen: int
) -> None:
    """Step 4: apply rows committed after the snapshot to the new generation."""
    for _ in range(MAX_CATCH_UP_PASSES):
        rows = await fetch_outbox(conn, tenant_id, DRAIN_TRANSACTIONS)
        if not rows:
            return
        if not await store.apply(tenant_id, gen, rows, state=REBUILDING):
            raise RebuildAborted(f"counters of {tenant_id} changed during the rebuild")
        await delete_outbox(conn, tenant_id, [r.id for r in rows])


async def rebuild(
    pool: asyncpg.Pool, store: RedisCounterStore, tenant_id: UUID, *, only_if_needed: bool = False
) -> int | None:
    """Rebuild one tenant's counters from PostgreSQL; returns the new generation."""
    async with pool.acquire() as conn:
        lock = f"nps-rebuild:{tenant_id}"
        await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", lock)
        try:
            if only_if_needed and (await store.meta(tenant_id))[0] == READY:
                return None  # another process rebuilt it while we waited for the lock
            gen = int(await conn.fetchval("SELECT nextval('counter_generation')"))
            await store.set_meta(
                tenant_id, expect_state="", expect_gen=None, state=REBUILDING, gen=gen
            )
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                snapshot = await conn.fetchval("SELECT pg_current_snapshot()::text")
                rows = await aggregate(conn, tenant_id)
            await _write_generation(store, *fold(rows, tenant_id, gen))
            await delete_seen_by_snapshot(conn, tenant_id, snapshot)
            await _catch_up(conn, store, tenant_id, gen)
            if not await store.set_meta(
                tenant_id, expect_state=REBUILDING, expect_gen=gen, state=READY, gen=gen
            ):
                raise RebuildAborted(f"counters of {tenant_id} changed during the rebuild")
            await _drop_other_generations(store, tenant_id, keep=gen)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", lock)
    log.info("counters_rebuilt", tenant_id=str(tenant_id), generation=gen, rows=len(rows))
    return gen


async def drain_tenant(pool: asyncpg.Pool, store: RedisCounterStore, tenant_id: UUID) -> int:
    """Apply a tenant's left-over outbox rows; rebuilds when its counters are gone."""
    state, gen = await store.meta(tenant_id)  # read before the rows: see RedisCounterStore
    if state is None:
        await rebuild(pool, store, tenant_id, only_if_needed=True)
        return 0
    if state != READY or gen is None:
        return 0
    applied = 0
    async with pool.acquire() as conn:
        for _ in range(MAX_DRAIN_PASSES):
            rows = await fetch_outbox(conn, tenant_id, DRAIN_TRANSACTIONS)
            if not rows or not await store.apply(tenant_id, gen, rows):
                break
            ids = [r.id for r in rows]
            await delete_outbox(conn, tenant_id, ids)
            store.deleted(tenant_id, gen, {r.xid for r in rows})
            applied += len(rows)
    return applied


class OutboxDrainer:
    """Background loop: applies what the write path could not (crash, Redis down)."""

    def __init__(self, pool: asyncpg.Pool, store: RedisCounterStore, *, interval: float = 1.0):
        self._pool, self._store, self._interval = pool, store, interval

    async def drain_once(self) -> int:
        async with self._pool.acquire() as conn:
            tenants = await tenants_with_outbox(conn)
        applied = 0
        for tenant_id in tenants:
            applied += await drain_tenant(self._pool, self._store, tenant_id)
        await self._store.forget_deleted()
        return applied

    async def run(self) -> None:
        while True:
            try:
                await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis or PostgreSQL away: try again next tick
                log.warning("drain_failed", error=type(exc).__name__)
            await asyncio.sleep(self._interval)


async def verify(
    pool: asyncpg.Pool, store: RedisCounterStore, tenant_ids: Iterable[UUID] | None = None
) -> list[str]:
    """Every difference between the counters and PostgreSQL (empty list: exact)."""
    if tenant_ids is None:
        tenant_ids = [r["id"] for r in await pool.fetch("SELECT id FROM tenants ORDER BY id")]
    differences: list[str] = []
    for tenant_id in tenant_ids:
        await drain_tenant(pool, store, tenant_id)
        differences += await _verify_tenant(pool, store, tenant_id)
    return differences


async def _verify_tenant(
    pool: asyncpg.Pool, store: RedisCounterStore, tenant_id: UUID
) -> list[str]:
    state, gen = await store.meta(tenant_id)
    if state != READY or gen is None:
        return [f"tenant {tenant_id}: counters not ready (state {state or 'missing'})"]
    async with pool.acquire() as conn:
        expected, _ = fold(await aggregate(conn, tenant_id), tenant_id, gen)
    actual: dict[str, list[int]] = {}
    async for raw in store.redis.scan_iter(match=f"{k.gen_prefix(tenant_id, gen)}h:*", count=1000):
        fields = await store.redis.hgetall(raw)
        bins = [0] * 11
        for field, value in fields.items():
            bins[int(field)] = int(value)
        if any(bins):
            actual[raw.decode()] = bins
    out = []
    for key in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(key, [0] * 11), actual.get(key, [0] * 11)
        if want != got:
            out.append(f"{key}: PostgreSQL {want} != Redis {got}")
    return out
