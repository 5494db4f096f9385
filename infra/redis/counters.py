"""RedisCounterStore: live 11-bin histograms per tenant, each writing transaction applied once.

Safety rule of the write side: the generation an applier expects must have been read from
Redis before the outbox rows' transaction committed (the batcher) or before the rows were
read from the outbox (the drainer); the apply script refuses any other generation. A
rebuild moves to a new generation, so a row committed before its snapshot can never be
applied to it twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from uuid import UUID

import redis.asyncio as aioredis

from domain.model import ResultQuery
from domain.nps import Histogram
from infra.postgres.outbox import OutboxRow
from infra.redis import keys as k
from infra.redis.read_cache import (
    GroupCache,
    breakdown_parts,
    breakdown_total,
    bucket_groups,
    histogram_parts,
    histogram_totals,
    period_groups,
)
from infra.redis.scripts import Script

READY, REBUILDING = "ready", "rebuilding"
FORGET_AFTER_S = 300.0  # applied xids outlive their outbox rows this long (no holder is slower)
_MISSING, _NOT_READY = -1, 0  # first element of read.lua / breakdown.lua answers
BREAKDOWN_CACHE = 256  # breakdowns kept per process (see infra.redis.read_cache)
HISTOGRAM_CACHE = 1024  # period reads kept per process
# At most this many groups (period reads) or values summed over groups (breakdowns) per
# kept read: with the sizes above, about 50 MB per process at worst, whatever is asked.
MAX_KEPT_GROUPS, MAX_KEPT_VALUES = 60, 600
_EMPTY: Histogram = (0,) * 11


class RedisCounterStore:
    def __init__(
        self, redis: aioredis.Redis, *, on_rebuild_needed: Callable[[UUID], object] | None = None
    ) -> None:
        self.redis = redis
        self._apply = Script(redis, "apply.lua")
        self._read = Script(redis, "read.lua", after="groups.lua")
        self._breakdown = Script(redis, "breakdown.lua", after="groups.lua")
        self._set_meta = Script(redis, "set_meta.lua")
        self._mark_behind = Script(redis, "mark_behind.lua")
        self._clear_behind = Script(redis, "clear_behind.lua")
        self._on_rebuild_needed = on_rebuild_needed
        self._gens: dict[UUID, int] = {}
        self._rebuilds: set[UUID] = set()
        self._breakdowns: GroupCache[dict[str, Histogram]] = GroupCache(
            BREAKDOWN_CACHE, dict, weigh=_values, max_weight=MAX_KEPT_VALUES
        )
        self._histograms: GroupCache[Histogram] = GroupCache(
            HISTOGRAM_CACHE, lambda: _EMPTY, max_weight=MAX_KEPT_GROUPS
        )
        self._to_forget: list[tuple[float, UUID, int, list[str]]] = []
        self.forget_after_s = FORGET_AFTER_S

    # --- meta -------------------------------------------------------------------------

    async def meta(self, tenant_id: UUID) -> tuple[str | None, int | None]:
        """(state, gen) of the tenant's counters; (None, None) when meta is missing."""
        state, gen = await self.redis.hmget(k.meta_key(tenant_id), ["state", "gen"])
        return (state.decode() if state else None, int(gen) if gen else None)

    async def status(self, tenant_id: UUID) -> tuple[str | None, int | None, str | None]:
        """(state, gen, behind mark) of the tenant's counters; Nones when missing."""
        state, gen, behind = await self.redis.hmget(
            k.meta_key(tenant_id), ["state", "gen", "behind"]
        )
        return (
            state.decode() if state else None,
            int(gen) if gen else None,
            behind.decode() if behind else None,
        )

    async def mark_behind(self, tenant_ids: Iterable[UUID]) -> None:
        """Readers must not trust these tenants' counters until the drainer has applied what
        waits in their outbox (see mark_behind.lua)."""
        tenants = sorted(set(tenant_ids))
        for tenant_id in tenants:
            await self._mark_behind(keys=[k.meta_key(tenant_id)], args=[])
        if tenants:
            await self.redis.sadd(k.BEHIND_SET, *map(str, tenants))

    async def clear_behind(self, tenant_id: UUID, seen: str) -> bool:
        """Clear the mark if it is still `seen` (nothing marked since); True when clear."""
        cleared = bool(await self._clear_behind(keys=[k.meta_key(tenant_id)], args=[seen]))
        if cleared:
            await self.redis.srem(k.BEHIND_SET, str(tenant_id))
        return cleared

    async def behind_tenants(self) -> list[UUID]:
        """Tenants marked behind (the drainer visits them even with an empty outbox)."""
        return [UUID(m.decode()) for m in await self.redis.smembers(k.BEHIND_SET)]

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
        """Meta is missing: ask the hook for a background rebuild, one at a time per tenant.

        When the hook returns the rebuild's future (an asyncio.Task), the tenant is not asked
        for again until it is done; a hook returning None must deduplicate itself.
        """
        self._gens.pop(tenant_id, None)
        if self._on_rebuild_needed is None or tenant_id in self._rebuilds:
            return
        pending = self._on_rebuild_needed(tenant_id)
        if isinstance(pending, asyncio.Future) and not pending.done():
            self._rebuilds.add(tenant_id)
            pending.add_done_callback(lambda _: self._rebuilds.discard(tenant_id))

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
        """Apply rows to generation `gen` if meta is (state, gen): True when applied now or
        before, False when refused (nothing changed; the cached generation is forgotten)."""
        if not rows:
            return True
        result = await self._apply(
            keys=[k.meta_key(tenant_id), k.applied_key(tenant_id, gen)],
            args=[state, gen, k.gen_prefix(tenant_id, gen), k.apply_payload(rows)],
        )
        if int(result[0]) == 1:
            return True
        self._gens.pop(tenant_id, None)
        if not result[1]:
            self._needs_rebuild(tenant_id)
        return False

    def deleted(self, tenant_id: UUID, gen: int, xids: Iterable[str]) -> None:
        """Outbox rows gone from PostgreSQL: their transactions may leave the applied set later."""
        self._to_forget.append((time.monotonic(), tenant_id, gen, list(xids)))

    async def forget_deleted(self) -> None:
        """SREM applied xids whose rows were deleted long enough ago that nobody holds them."""
        cutoff = time.monotonic() - self.forget_after_s
        due = [x for x in self._to_forget if x[0] <= cutoff]
        if not due:
            return
        self._to_forget = [x for x in self._to_forget if x[0] > cutoff]
        async with self.redis.pipeline(transaction=False) as pipe:
            for _, tenant_id, gen, xids in due:
                if xids:
                    pipe.srem(k.applied_key(tenant_id, gen), *xids)
            await pipe.execute()

    # --- reads ------------------------------------------------------------------------

    def _ready(self, tenant_id: UUID, status: int) -> bool:
        if status == _MISSING:
            self._needs_rebuild(tenant_id)
        return status not in (_MISSING, _NOT_READY)

    async def histograms(
        self, query: ResultQuery, periods: Sequence[tuple[date, date]]
    ) -> list[Histogram] | None:
        """11 sums per inclusive period in one round trip; None when not ready. Only the
        bucket groups that changed since this process last read them are summed again."""
        if len(query.segments) > 1:
            raise ValueError("counters hold one segment dimension at a time")
        seg = k.NO_SEGMENT
        if query.segments:
            seg = k.segment(query.segments[0].dimension, query.segments[0].value)
        scope, asked = _scope(query), tuple(periods)
        groups, spans = period_groups(asked)
        cache_key = (query.tenant_id, scope, seg, asked)
        args = [k.tenant_prefix(query.tenant_id), scope, seg]
        args += self._histograms.args(cache_key, groups)
        result = await self._read(keys=[k.meta_key(query.tenant_id)], args=args)
        if not self._ready(query.tenant_id, int(result[0])):
            return None
        totals = self._histograms.update(
            cache_key,
            len(groups),
            result[1].decode(),
            histogram_parts(result),
            lambda parts: histogram_totals(parts, spans),
        )
        return list(totals)  # the caller's own list: the kept one must not change

    async def breakdown(self, query: ResultQuery, dimension: str) -> dict[str, Histogram] | None:
        """{value: histogram} of one dimension over the period (empty groups dropped);
        None when not ready. A filter on another dimension raises ValueError."""
        if len(query.segments) > 1 or any(f.dimension != dimension for f in query.segments):
            raise ValueError("a filter on another dimension needs the database")
        mode, only = ("one", query.segments[0].value) if query.segments else ("all", "")
        groups = bucket_groups(query.start, query.end)
        cache_key = (query.tenant_id, _scope(query), dimension, mode, only, groups)
        args = [k.tenant_prefix(query.tenant_id), _scope(query), dimension, mode, only]
        args += self._breakdowns.args(cache_key, groups)
        result = await self._breakdown(keys=[k.meta_key(query.tenant_id)], args=args)
        if not self._ready(query.tenant_id, int(result[0])):
            return None
        found = self._breakdowns.update(
            cache_key, len(groups), result[1].decode(), breakdown_parts(result), _nonempty_total
        )
        return dict(found)  # the caller's own copy: the kept one must not change


def _values(parts: list[dict[str, Histogram]]) -> int:
    return sum(map(len, parts))


def _nonempty_total(parts: list[dict[str, Histogram]]) -> dict[str, Histogram]:
    return {value: bins for value, bins in breakdown_total(parts).items() if any(bins)}


def _scope(query: ResultQuery) -> str:
    return str(query.survey_id) if query.survey_id else k.ALL_SURVEYS
