"""Compare every counter of a tenant's current generation with the PostgreSQL aggregate."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import asyncpg

from infra.counter_sync.drain import drain_tenant
from infra.counter_sync.rebuild import CHUNK, SCAN_COUNT, fold
from infra.postgres.outbox import has_outbox
from infra.postgres.results import aggregate
from infra.redis import keys as k
from infra.redis.counters import READY, RedisCounterStore


async def verify(
    pool: asyncpg.Pool, store: RedisCounterStore, tenant_ids: Iterable[UUID] | None = None
) -> list[str]:
    """Every difference between the counters and PostgreSQL (empty list: exact).

    Each tenant (all by default) first gets one drainer pass when it has outbox rows, so
    answers committed but not yet applied are not reported.
    """
    if tenant_ids is None:
        tenant_ids = [r["id"] for r in await pool.fetch("SELECT id FROM tenants ORDER BY id")]
    differences: list[str] = []
    for tenant_id in tenant_ids:
        async with pool.acquire() as conn:
            waiting = await has_outbox(conn, tenant_id)
        if waiting:
            await drain_tenant(pool, store, tenant_id)
        differences += await _verify_tenant(pool, store, tenant_id)
    return differences


async def _verify_tenant(
    pool: asyncpg.Pool, store: RedisCounterStore, tenant_id: UUID
) -> list[str]:
    state, gen = await store.meta(tenant_id)
    if state != READY or gen is None:
        return [f"tenant {tenant_id}: counters not ready (meta {state or 'missing'})"]
    async with pool.acquire() as conn:
        expected, members = fold(await aggregate(conn, tenant_id), tenant_id, gen)
    actual = await _read_hashes(store, k.gen_prefix(tenant_id, gen) + "h:*")
    out = []
    for key in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(key, [0] * 11), actual.get(key, [0] * 11)
        if want != got:
            out.append(f"{key}: PostgreSQL {want} != Redis {got}")
    return out + await _missing_members(store, members)


_FIELDS = {str(score).encode(): score for score in range(11)}


async def _read_hashes(store: RedisCounterStore, pattern: str) -> dict[str, list[int]]:
    """{key: 11 bins} of every hash matching `pattern` that is not all zeros.

    A field other than "0".."10" makes the key's bins impossible ([-1] * 11): a difference.
    """
    keys = [key async for key in store.redis.scan_iter(match=pattern, count=SCAN_COUNT)]
    found: dict[str, list[int]] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        async with store.redis.pipeline(transaction=False) as pipe:
            for key in chunk:
                pipe.hgetall(key)
            replies = await pipe.execute()
        for key, fields in zip(chunk, replies, strict=True):
            bins = [0] * 11
            for field, value in fields.items():
                if field not in _FIELDS:
                    bins = [-1] * 11
                    break
                bins[_FIELDS[field]] = int(value)
            if any(bins):
                found[key.decode()] = bins
    return found


async def _missing_members(store: RedisCounterStore, members: set[tuple[str, str]]) -> list[str]:
    """Dimension names and values PostgreSQL has but the breakdown sets lack."""
    by_set: dict[str, set[str]] = {}
    for set_key, member in members:
        by_set.setdefault(set_key, set()).add(member)
    out = []
    for set_key in sorted(by_set):
        present = {m.decode() for m in await store.redis.smembers(set_key)}
        for member in sorted(by_set[set_key] - present):
            out.append(f"{set_key}: {member!r} missing from the set")
    return out
