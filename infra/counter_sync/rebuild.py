"""Rebuild one tenant's counters from PostgreSQL into a new generation (see the package doc)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TypeVar
from uuid import UUID

import asyncpg
import structlog

from infra.metrics import REBUILD_SECONDS, REBUILDS
from infra.postgres.outbox import (
    delete_outbox,
    delete_seen_by_snapshot,
    fetch_outbox,
    last_outbox_id,
)
from infra.postgres.pool import without_statement_timeout
from infra.postgres.results import AggregateRow, aggregate
from infra.redis import layout
from infra.redis.counters import RedisCounterStore
from infra.redis.layout import READY, REBUILDING

log = structlog.get_logger(__name__)
DRAIN_TRANSACTIONS = 20  # writing transactions per outbox fetch (each up to ingest_max_rows)
MAX_CATCH_UP_PASSES = 50  # rows committed after that are left to the drainer
# Fetches per tenant and call of apply_waiting: one busy tenant cannot starve the rest (a
# backlog of more writing transactions than this is finished by the next calls).
MAX_DRAIN_PASSES = 500
CHUNK = 1000  # Redis commands per pipeline
# SCAN walks the whole keyspace (one tenant's keys are spread over it): few, large steps.
SCAN_COUNT = 10_000
LOCK_WAIT_S = 3600.0  # `nps counters rebuild` waits this long for a rebuild under way
T = TypeVar("T")


class RebuildAborted(RuntimeError):
    """Meta changed under the rebuild (Redis emptied meanwhile); the caller may retry."""


def fold(
    rows: Iterable[AggregateRow], tenant_id: UUID, gen: int
) -> tuple[dict[str, list[int]], set[tuple[str, str]]]:
    """Expected counter hashes {key: 11 bins} and set members {(set key, member)}."""
    hists: dict[str, list[int]] = {}
    members: set[tuple[str, str]] = set()
    for r in rows:  # one seg's count each (layout.cells, one seg at a time)
        seg = layout.NO_SEGMENT
        if r.dimension is not None:
            value = r.value or ""
            seg = layout.segment(r.dimension, value)
            members.add((layout.dims_key(tenant_id, gen), r.dimension))
            members.add((layout.values_key(tenant_id, gen, r.dimension), value))
        for scope, bucket in layout.scopes_and_buckets(r.survey_id, r.local_date):
            key = layout.hist_key(tenant_id, gen, scope, bucket, seg)
            hists.setdefault(key, [0] * 11)[r.score] += r.n
    return hists, members


@contextlib.asynccontextmanager
async def tenant_lock(pool: asyncpg.Pool, tenant_id: UUID, *, wait: bool) -> AsyncIterator[bool]:
    """The tenant's rebuild lock; yields False when `wait` is off and another holds it.

    A transaction-level advisory lock, held by a transaction kept open on a connection of
    its own for the whole rebuild (whose work needs transactions of its own, one of them
    REPEATABLE READ): a pooler in transaction mode keeps that transaction on one server
    connection, where a session lock could be taken on one server and released on another.
    The transaction only waits, so it holds back no vacuum; its idle time must not end it.
    """
    name = f"nps-rebuild:{tenant_id}"
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        if wait:  # another rebuild of the tenant may take minutes
            await without_statement_timeout(conn)
            sql = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
            await conn.execute(sql, name, timeout=LOCK_WAIT_S)
            yield True
        else:
            sql = "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))"
            yield bool(await conn.fetchval(sql, name))


def _chunks(items: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


async def _write_generation(
    store: RedisCounterStore, hists: dict[str, list[int]], members: set[tuple[str, str]]
) -> None:
    """Step 2: HSET every expected hash and SADD every set member, pipelined in chunks."""
    for chunk in _chunks(list(hists.items())):
        async with store.redis.pipeline(transaction=False) as pipe:
            for key, bins in chunk:
                pipe.hset(key, mapping={str(s): n for s, n in enumerate(bins) if n})
            await pipe.execute()
    for members_chunk in _chunks(sorted(members)):
        async with store.redis.pipeline(transaction=False) as pipe:
            for set_key, member in members_chunk:
                pipe.sadd(set_key, member)
            await pipe.execute()


async def drop_other_generations(store: RedisCounterStore, tenant_id: UUID, keep: int) -> None:
    """Step 5: UNLINK every generation key of the tenant but `keep`'s."""
    keep_prefix = layout.gen_prefix(tenant_id, keep).encode()
    batch: list[bytes] = []
    async for key in store.redis.scan_iter(
        match=f"{layout.tenant_prefix(tenant_id)}g*", count=SCAN_COUNT
    ):
        if not key.startswith(keep_prefix):
            batch.append(key)
        if len(batch) >= CHUNK:
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


async def apply_waiting(
    conn: asyncpg.Connection,
    store: RedisCounterStore,
    tenant_id: UUID,
    gen: int,
    *,
    behind: str | None,
    listed: bool = False,
) -> int:
    """Apply every row waiting in the outbox now to the ready generation `gen`, then clear
    the `behind` mark read before this was called, unless a writer marked the tenant again
    meanwhile (its rows may have come after the last fetch). Returns the rows applied.

    `listed`: the tenant is in the set of marked tenants (cleared from it too)."""
    applied = 0
    last = await last_outbox_id(conn, tenant_id)  # every row committed before now
    for _ in range(MAX_DRAIN_PASSES if last is not None else 0):
        rows = await fetch_outbox(conn, tenant_id, DRAIN_TRANSACTIONS, up_to=last)
        if not rows:
            break
        if not await store.apply(tenant_id, gen, rows):
            return applied  # meta changed: a rebuild counts the rest
        await delete_outbox(conn, tenant_id, [r.id for r in rows])
        store.deleted(tenant_id, gen, {r.xid for r in rows})
        applied += len(rows)
    else:
        if last is not None:
            return applied  # more than one call's share: the next one goes on
    if behind is not None or listed:
        await store.clear_behind(tenant_id, behind or "")
    return applied


async def _rebuild_locked(
    conn: asyncpg.Connection, store: RedisCounterStore, tenant_id: UUID
) -> int:
    gen = int(await conn.fetchval("SELECT nextval('counter_generation')"))
    await store.set_meta(tenant_id, expect_state="", expect_gen=None, state=REBUILDING, gen=gen)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        snapshot = await conn.fetchval("SELECT pg_current_snapshot()::text")
        rows = await aggregate(conn, tenant_id)
    await _write_generation(store, *fold(rows, tenant_id, gen))
    await delete_seen_by_snapshot(conn, tenant_id, snapshot)
    await _catch_up(conn, store, tenant_id, gen)
    flipped = await store.set_meta(
        tenant_id, expect_state=REBUILDING, expect_gen=gen, state=READY, gen=gen
    )
    if not flipped:
        raise RebuildAborted(f"counters of {tenant_id} changed during the rebuild")
    # Writers that saw the rebuild under way left their rows and marked the counters behind:
    # apply what came after the last catch-up, so that reads can use the counters again.
    behind = (await store.status(tenant_id)).behind
    await apply_waiting(conn, store, tenant_id, gen, behind=behind)
    await drop_other_generations(store, tenant_id, keep=gen)
    return gen


async def rebuild(
    pool: asyncpg.Pool, store: RedisCounterStore, tenant_id: UUID, *, only_if_needed: bool = False
) -> int | None:
    """Rebuild one tenant's counters from PostgreSQL; returns the new generation.

    only_if_needed: skip (None) when another session is rebuilding the tenant right now or
    its counters are ready in this process's layout version or a newer one; a `rebuilding`
    meta whose rebuilder is gone is rebuilt, and so is a generation of an older layout.
    """
    async with tenant_lock(pool, tenant_id, wait=not only_if_needed) as locked:
        if not locked:
            return None
        if only_if_needed and not store.generations.outdated(await store.status(tenant_id)):
            return None
        started = time.perf_counter()
        try:
            async with pool.acquire() as conn:
                gen = await _rebuild_locked(conn, store, tenant_id)
        except Exception:  # a cancelled one (the process stopping) is not a failure
            REBUILDS.labels("failed").inc()
            raise
    REBUILDS.labels("done").inc()
    REBUILD_SECONDS.observe(time.perf_counter() - started)
    log.info("counters_rebuilt", tenant_id=str(tenant_id), generation=gen)
    return gen
