"""CounterReads: period sums and breakdowns read from a tenant's counters (read.lua,
breakdown.lua), with the reads kept per process (infra.redis.read_cache).

The two caches, `GroupCache`s: per period read (tenant, scope, segment, periods) and per
breakdown (tenant, scope, dimension, filter, bucket groups), the generation and each bucket
group's version and sums. They hold at most HISTOGRAM_CACHE / BREAKDOWN_CACHE reads, least
recently used dropped first, and no read whose parts weigh more than MAX_KEPT_GROUPS groups
/ MAX_KEPT_VALUES values. Invalidated by the bucket versions every apply bumps: the scripts
sum a group again when its versions moved, and a new generation starts an entry afresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from domain.model import ResultQuery
from domain.nps import Histogram
from domain.results import counters_can_answer
from infra.redis import layout
from infra.redis.client import RedisClient
from infra.redis.generations import CounterGenerations
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

_MISSING, _NOT_READY, _OTHER_LAYOUT = -1, 0, -2  # first element of the scripts' answers
BREAKDOWN_CACHE = 256  # breakdowns kept per process
HISTOGRAM_CACHE = 1024  # period reads kept per process
# At most this many groups (period reads) or values summed over groups (breakdowns) per
# kept read: with the sizes above, about 50 MB per process at worst, whatever is asked.
MAX_KEPT_GROUPS, MAX_KEPT_VALUES = 60, 600
_EMPTY: Histogram = (0,) * 11


class CounterReads:
    def __init__(self, redis: RedisClient, generations: CounterGenerations) -> None:
        self.redis = redis
        self._generations = generations
        self._layout = str(generations.layout_version)
        prelude = layout.lua_prelude()
        # Every period read is one call of read.lua, small: those arriving together share a
        # round trip. A breakdown's call may take long, so it goes alone.
        self._read = Script(
            redis, "read.lua", after="groups.lua", prelude=prelude, shared_calls=True
        )
        self._breakdown = Script(redis, "breakdown.lua", after="groups.lua", prelude=prelude)
        self._breakdowns: GroupCache[dict[str, Histogram]] = GroupCache(
            BREAKDOWN_CACHE, dict, weigh=_values, max_weight=MAX_KEPT_VALUES
        )
        self._histograms: GroupCache[Histogram] = GroupCache(
            HISTOGRAM_CACHE, lambda: _EMPTY, max_weight=MAX_KEPT_GROUPS
        )

    async def close(self) -> None:
        await self._read.close()

    def _ready(self, query: ResultQuery, result: Sequence[Any]) -> bool:
        status = int(result[0])
        if status == _MISSING:
            self._generations.needs_rebuild(query.tenant_id)
        elif status == _OTHER_LAYOUT:  # {-2, the generation's layout, its gen}
            self._generations.refuses(query.tenant_id, int(result[1]), int(result[2]))
        return status > _NOT_READY

    async def histograms(
        self, query: ResultQuery, periods: Sequence[tuple[date, date]]
    ) -> list[Histogram] | None:
        """11 sums per inclusive period in one round trip; None when not ready. Only the
        bucket groups that changed since this process last read them are summed again."""
        if not counters_can_answer(query):
            raise ValueError("counters hold one segment dimension at a time")
        seg = layout.NO_SEGMENT
        if query.segments:
            seg = layout.segment(query.segments[0].dimension, query.segments[0].value)
        scope, asked = layout.scope_of(query.survey_id), tuple(periods)
        groups, spans = period_groups(asked)
        cache_key = (query.tenant_id, scope, seg, asked)
        args = [layout.tenant_prefix(query.tenant_id), self._layout, scope, seg]
        args += self._histograms.args(cache_key, groups)
        result = await self._read(keys=[layout.meta_key(query.tenant_id)], args=args)
        if not self._ready(query, result):
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
        if not counters_can_answer(query, dimension):
            raise ValueError("a filter on another dimension needs the database")
        mode, only = ("one", query.segments[0].value) if query.segments else ("all", "")
        scope = layout.scope_of(query.survey_id)
        groups = bucket_groups(query.start, query.end)
        cache_key = (query.tenant_id, scope, dimension, mode, only, groups)
        args = [layout.tenant_prefix(query.tenant_id), self._layout, scope, dimension, mode, only]
        args += self._breakdowns.args(cache_key, groups)
        result = await self._breakdown(keys=[layout.meta_key(query.tenant_id)], args=args)
        if not self._ready(query, result):
            return None
        found = self._breakdowns.update(
            cache_key, len(groups), result[1].decode(), breakdown_parts(result), _nonempty_total
        )
        return dict(found)  # the caller's own copy: the kept one must not change


def _values(parts: list[dict[str, Histogram]]) -> int:
    return sum(map(len, parts))


def _nonempty_total(parts: list[dict[str, Histogram]]) -> dict[str, Histogram]:
    return {value: bins for value, bins in breakdown_total(parts).items() if any(bins)}
