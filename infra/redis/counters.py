"""RedisCounterStore: live 11-bin histograms per tenant, applied once per outbox row.

Safety rule of the write side: the generation an applier expects must have been read from
Redis before the outbox rows' transaction committed (the batcher) or before the rows were
read from the outbox (the drainer); the apply script refuses any other generation. A
rebuild moves to a new generation, so a row committed before its snapshot can never be
applied to it twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from importlib import resources
from typing import Any
from uuid import UUID

import redis.asyncio as aioredis

from domain.model import ResultQuery
from domain.nps import Histogram
from domain.periods import bucket_keys, day_key, month_key
from infra.postgres.outbox import OutboxRow
from infra.redis import keys as k

READY, REBUILDING = "ready", "rebuilding"
FORGET_AFTER_S = 300.0  # applied xids outlive their outbox rows this long (no holder is slower)


def _script(name: str) -> str:
    return resources.files("infra.redis").joinpath("lua", name).read_text()


class _ApplyArgs:
    """KEYS and ARGV of apply.lua: per writing transaction, its deltas summed per key and bin.

    Rows of one transaction are always applied together, so the transaction id is the unit
    remembered in the applied set, and a batch of answers costs one HINCRBY per distinct
    (key, score) instead of one per answer.
    """

    def __init__(self, tenant_id: UUID, gen: int) -> None:
        self.tenant_id, self.gen = tenant_id, gen
        self.keys = [k.meta_key(tenant_id), k.applied_key(tenant_id, gen)]
        self._index: dict[str, int] = {}
        self._groups: dict[str, dict[tuple[int, int], int]] = {}
        self.sets: set[tuple[int, str]] = set()

    def key(self, name: str) -> int:
        if name not in self._index:
            self.keys.append(name)
            self._index[name] = len(self.keys)
        return self._index[name]

    def add(self, row: OutboxRow) -> None:
        t, g = self.tenant_id, self.gen
        deltas = self._groups.setdefault(row.xid, {})
        segs = [k.NO_SEGMENT, *(k.segment(d, v) for d, v in row.segments.items())]
        buckets = (day_key(row.local_date), month_key(row.local_date.year, row.local_date.month))
        for scope in (str(row.survey_id), k.ALL_SURVEYS):
            for bucket in buckets:
                for seg in segs:
                    slot = (self.key(k.hist_key(t, g, scope, bucket, seg)), row.score)
                    deltas[slot] = deltas.get(slot, 0) + row.delta
        for dimension, value in row.segments.items():
            self.sets.add((self.key(k.dims_key(t, g)), dimension))
            self.sets.add((self.key(k.values_key(t, g, dimension)), value))

    def argv(self, state: str) -> list[Any]:
        args: list[Any] = [state, self.gen, len(self._groups)]
        for xid, deltas in self._groups.items():
            ops = [x for (key, score), d in deltas.items() if d for x in (key, score, d)]
            args += [xid, len(ops) // 3, *ops]
        args.append(len(self.sets))
        args += [x for pair in sorted(self.sets) for x in pair]
        return args


class RedisCounterStore:
    def __init__(
        self, redis: aioredis.Redis, *, on_rebuild_needed: Callable[[UUID], None] | None = None
    ) -> None:
        self.redis = redis
        self._apply = redis.register_script(_script("apply.lua"))
        self._read = redis.register_script(_script("read.lua"))
        self._breakdown = redis.register_script(_script("breakdown.lua"))
        self._set_meta = redis.register_script(_script("set_meta.lua"))
        self._on_rebuild_needed = on_rebuild_needed
        self._gens: dict[UUID, int] = {}
        self._to_forget: list[tuple[float, UUID, int, list[str]]] = []

    # --- meta -------------------------------------------------------------------------

    async def meta(self, tenant_id: UUID) -> tuple[str | None, int | None]:
        state, gen = await self.redis.hmget(k.meta_key(tenant_id), ["state", "gen"])
        return (state.decode() if state else None, int(gen) if gen else None)

    async def set_meta(
        self, tenant_id: UUID, *, expect_state: str, expect_gen: int | None, state: str, gen: int
    ) -> bool:
        """Compare-and-set; expect_state '' = any, '-' = missing; expect_gen None = any."""
        args = [expect_state, "" if expect_gen is None else expect_gen, state, gen]
        return bool(await self._set_meta(keys=[k.meta_key(tenant_id)], args=args))

    async def init_tenant(self, tenant_id: UUID) -> None:
        """A new tenant's counters: ready and empty, generation 0 (the sequence starts at 1)."""
        await self.set_meta(tenant_id, expect_state="-", expect_gen=None, state=READY, gen=0)

    def _needs_rebuild(self, tenant_id: UUID) -> None:
        self._gens.pop(tenant_id, None)
        if self._on_rebuild_needed is not None:
            self._on_rebuild_needed(tenant_id)

    async def expected_gen(self, tenant_id: UUID) -> int | None:
        """The ready generation to apply to (cached), or None when counters are not ready."""
        if tenant_id in self._gens:
            return self._gens[tenant_id]
        state, gen = await self.meta(tenant_id)
        if state is None:
            self._needs_rebuild(tenant_id)
        if state != READY or gen is None:
            return None
        self._gens[tenant_id] = gen
        return gen

    # --- writes -----------------------------------------------------------------------

    async def apply(
        self, tenant_id: UUID, gen: int, rows: Sequence[OutboxRow], *, state: str = READY
    ) -> bool:
        """Apply rows to generation `gen` if meta is (state, gen); False when refused."""
        if not rows:
            return True
        args = _ApplyArgs(tenant_id, gen)
        for row in rows:
            args.add(row)
        result = await self._apply(keys=args.keys, args=args.argv(state))
        if int(result[0]) == 1:
            return True
        current_state = result[1].decode() if result[1] else ""
        if state == READY:
            self._gens.pop(tenant_id, None)
            if current_state == READY and result[2]:
                self._gens[tenant_id] = int(result[2])
            elif not current_state:
                self._needs_rebuild(tenant_id)
        return False

    def deleted(self, tenant_id: UUID, gen: int, xids: Iterable[str]) -> None:
        """Outbox rows gone from PostgreSQL: their transactions may leave the applied set later."""
        self._to_forget.append((time.monotonic(), tenant_id, gen, list(xids)))

    async def forget_deleted(self) -> None:
        """SREM applied ids whose rows were deleted long enough ago that nobody holds them."""
        cutoff = time.monotonic() - FORGET_AFTER_S
        due = [x for x in self._to_forget if x[0] <= cutoff]
        if not due:
            return
        self._to_forget = [x for x in self._to_forget if x[0] > cutoff]
        async with self.redis.pipeline(transaction=False) as pipe:
            for _, tenant_id, gen, ids in due:
                pipe.srem(k.applied_key(tenant_id, gen), *ids)
            await pipe.execute()

    # --- reads ------------------------------------------------------------------------

    async def _not_ready(self, tenant_id: UUID) -> None:
        state, _ = await self.meta(tenant_id)
        if state is None:
            self._needs_rebuild(tenant_id)

    async def histograms(
        self, query: ResultQuery, periods: Sequence[tuple[date, date]]
    ) -> list[Histogram] | None:
        """11 sums per period in one round trip; None when the counters are not ready."""
        if len(query.segments) > 1:
            raise ValueError("counters hold one segment dimension at a time")
        seg = (
            k.segment(query.segments[0].dimension, query.segments[0].value)
            if query.segments
            else k.NO_SEGMENT
        )
        args: list[Any] = [k.tenant_prefix(query.tenant_id), _scope(query), seg, len(periods)]
        for start, end in periods:
            buckets = bucket_keys(start, end)
            args += [len(buckets), *buckets]
        result = await self._read(keys=[k.meta_key(query.tenant_id)], args=args)
        if result is None:
            await self._not_ready(query.tenant_id)
            return None
        sums = [int(x) for x in result]
        return [tuple(sums[i : i + 11]) for i in range(0, len(sums), 11)]

    async def breakdown(self, query: ResultQuery, dimension: str) -> dict[str, Histogram] | None:
        """{value: histogram} of one dimension over the period; None when not ready."""
        only = ""
        for f in query.segments:
            if f.dimension != dimension:
                raise ValueError("a filter on another dimension needs the database")
            only = f.value
        args = [
            k.tenant_prefix(query.tenant_id),
            _scope(query),
            dimension,
            only,
            *bucket_keys(query.start, query.end),
        ]
        result = await self._breakdown(keys=[k.meta_key(query.tenant_id)], args=args)
        if result is None:
            await self._not_ready(query.tenant_id)
            return None
        out: dict[str, Histogram] = {}
        for i in range(0, len(result), 12):
            bins = tuple(int(x) for x in result[i + 1 : i + 12])
            if sum(bins):
                out[result[i].decode()] = bins
        return out


def _scope(query: ResultQuery) -> str:
    return str(query.survey_id) if query.survey_id else k.ALL_SURVEYS
