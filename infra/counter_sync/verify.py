"""Compare every counter of a tenant's current generation with PostgreSQL, under live load.

The two sides are taken at one consistent point, without stopping anyone:
1. Redis, in one MULTI: meta, every counter hash of the generation and its applied set X
   (the writing transactions applied so far).
2. PostgreSQL, in one REPEATABLE READ snapshot S taken after that: the aggregate A and the
   outbox rows O still waiting.
3. Redis again: the applied set X2.
Every answer in the counters was committed before it was applied, so it is in A. An answer
in A is in the counters unless its row still waited in O and its transaction is not in X;
those are taken out of A. The only other way to be in A but not in the counters is a row
applied and deleted between 1 and 2: its transaction is then in X2, not in X, not in O, and
visible in S, and the comparison is done again (so are differences, which must show in
every attempt). Transactions that committed after S are in neither side.
A tenant whose counters are missing or being rebuilt is "not built yet": its reads are
answered by PostgreSQL meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from uuid import UUID

import asyncpg
import msgspec

from infra.counter_sync.rebuild import SCAN_COUNT, fold
from infra.postgres.outbox import OutboxRow, to_outbox_row
from infra.postgres.results import AggregateRow, aggregate
from infra.redis import layout
from infra.redis.counters import RedisCounterStore
from infra.redis.layout import READY

ATTEMPTS = 6  # comparisons per tenant before a difference is reported
_FIELDS = {str(score).encode(): score for score in range(11)}


class Report(msgspec.Struct, kw_only=True):
    differences: list[str] = msgspec.field(default_factory=list)
    not_built: list[UUID] = msgspec.field(default_factory=list)


class _Inconclusive(Exception):
    """A row was applied and deleted between the two reads: compare again."""


async def verify(
    pool: asyncpg.Pool, store: RedisCounterStore, tenant_ids: Iterable[UUID] | None = None
) -> list[str]:
    """Every difference, and every tenant not built yet, as lines (empty: exact)."""
    report = await verify_report(pool, store, tenant_ids)
    return report.differences + [
        f"tenant {t}: counters not built yet (reads come from PostgreSQL)" for t in report.not_built
    ]


async def verify_report(
    pool: asyncpg.Pool, store: RedisCounterStore, tenant_ids: Iterable[UUID] | None = None
) -> Report:
    if tenant_ids is None:
        tenant_ids = [r["id"] for r in await pool.fetch("SELECT id FROM tenants ORDER BY id")]
    report = Report()
    for tenant_id in tenant_ids:
        outcome = await _verify_tenant(pool, store, tenant_id)
        if outcome is None:
            report.not_built.append(tenant_id)
        else:
            report.differences += outcome
    return report


async def _verify_tenant(
    pool: asyncpg.Pool, store: RedisCounterStore, tenant_id: UUID
) -> list[str] | None:
    """The tenant's differences (empty: exact), None when not built yet. Exact as soon as
    one comparison is; else the last conclusive comparison's differences."""
    differences: list[str] | None = None
    for attempt in range(ATTEMPTS):
        try:
            found = await _compare(pool, store, tenant_id)
        except _Inconclusive:
            if attempt == ATTEMPTS - 1 and differences is None:
                return [f"tenant {tenant_id}: no consistent point found"]
            await asyncio.sleep(0.05 * (attempt + 1))
            continue
        if found is None or not found:
            return found
        differences = found
        await asyncio.sleep(0.05 * (attempt + 1))  # let in-flight answers land
    return differences


async def _compare(
    pool: asyncpg.Pool, store: RedisCounterStore, tenant_id: UUID
) -> list[str] | None:
    """The differences at one consistent point; None when the counters are not built."""
    meta = await store.status(tenant_id)
    gen = meta.gen
    if meta.state != READY or gen is None or meta.layout != store.layout_version:
        return None  # not built yet, or in a layout this process does not read
    keys = [
        key
        async for key in store.redis.scan_iter(
            match=layout.gen_prefix(tenant_id, gen) + "h:*", count=SCAN_COUNT
        )
    ]
    # One MULTI: every key is the tenant's (one cluster slot). Raw commands: redis-py
    # 8.1's cluster MULTI passes `smembers`'s and `hgetall`'s extra arguments to reply
    # parsers that take none.
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.hmget(layout.meta_key(tenant_id), [layout.STATE, layout.GEN])
        pipe.execute_command("SMEMBERS", layout.applied_key(tenant_id, gen))
        for key in keys:
            pipe.execute_command("HGETALL", key)
        meta, applied, *hashes = await pipe.execute()
    if meta[0] != READY.encode() or meta[1] != str(gen).encode():
        return None
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        snapshot = await conn.fetchval("SELECT pg_current_snapshot()::text")
        rows = await aggregate(conn, tenant_id)
        waiting = [
            to_outbox_row(r)
            for r in await conn.fetch(
                "SELECT id, xid::text AS xid, tenant_id, response_id, survey_id, local_date,"
                " score, segments, delta FROM counter_outbox WHERE tenant_id = $1",
                tenant_id,
            )
        ]
    applied_after = await store.redis.smembers(layout.applied_key(tenant_id, gen))
    waiting_xids = {r.xid.encode() for r in waiting}
    if await _seen_by(pool, snapshot, applied_after - applied - waiting_xids):
        raise _Inconclusive
    unapplied = [r for r in waiting if r.xid.encode() not in applied]
    expected, members = fold([*rows, *_negated(unapplied)], tenant_id, gen)
    actual = _bins(keys, hashes)
    out = []
    for key in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(key, [0] * 11), actual.get(key, [0] * 11)
        if want != got:
            out.append(f"{key}: PostgreSQL {want} != Redis {got}")
    return out + await _missing_members(store, tenant_id, gen, members, expected)


async def _seen_by(pool: asyncpg.Pool, snapshot: str, xids: set[bytes]) -> bool:
    """True when one of these transactions committed before the snapshot: applied and
    deleted between the two reads, its answers are in the aggregate but in neither side's
    accounting. Those that committed after it are in neither side: harmless."""
    if not xids:
        return False
    return bool(
        await pool.fetchval(
            "SELECT bool_or(pg_visible_in_snapshot(x::xid8, $2::text::pg_snapshot))"
            " FROM unnest($1::text[]) AS x",
            [x.decode() for x in xids],
            snapshot,
        )
    )


def _negated(rows: list[OutboxRow]) -> list[AggregateRow]:
    """Outbox rows as aggregate rows that take their change out again."""
    out = []
    for r in rows:
        segs: list[tuple[str | None, str | None]] = [(None, None), *r.segments.items()]
        for dimension, value in segs:
            out.append(
                AggregateRow(
                    survey_id=r.survey_id,
                    local_date=r.local_date,
                    score=r.score,
                    dimension=dimension,
                    value=value,
                    n=-r.delta,
                )
            )
    return out


def _bins(keys: list[bytes], hashes: list[dict[bytes, bytes]]) -> dict[str, list[int]]:
    """{key: 11 bins} of every hash that is not all zeros; a field other than "0".."10"
    makes the key's bins impossible ([-1] * 11): a difference."""
    found: dict[str, list[int]] = {}
    for key, fields in zip(keys, hashes, strict=True):
        bins = [0] * 11
        for field, value in fields.items():
            if field not in _FIELDS:
                bins = [-1] * 11
                break
            bins[_FIELDS[field]] = int(value)
        if any(bins):
            found[key.decode()] = bins
    return found


async def _missing_members(
    store: RedisCounterStore,
    tenant_id: UUID,
    gen: int,
    members: set[tuple[str, str]],
    expected: dict[str, list[int]],
) -> list[str]:
    """Dimension names and values counted in the counters but absent from the breakdown
    sets (a value whose every answer still waits in the outbox need not be there yet)."""
    counted = {layout.hist_segment(key) for key, bins in expected.items() if any(bins)}
    dims_key, values_prefix = layout.dims_key(tenant_id, gen), layout.values_key(tenant_id, gen, "")
    by_set: dict[str, set[str]] = {}
    for set_key, member in members:
        if set_key == dims_key:
            named = layout.segment(member, "")
            if not any(seg.startswith(named) for seg in counted):
                continue
        elif layout.segment(set_key.removeprefix(values_prefix), member) not in counted:
            continue
        by_set.setdefault(set_key, set()).add(member)
    out = []
    for set_key in sorted(by_set):
        present = {m.decode() for m in await store.redis.smembers(set_key)}
        for member in sorted(by_set[set_key] - present):
            out.append(f"{set_key}: {member!r} missing from the set")
    return out
