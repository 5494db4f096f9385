"""Use-cases of results: NPS, breakdown and trend, from counters or from the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import msgspec

from domain.model import ResultQuery
from domain.nps import Histogram, NpsSummary, summarize
from domain.periods import TrendInterval, trend_buckets
from domain.ports import HistogramSource


class Group(msgspec.Struct, frozen=True, kw_only=True):
    value: str
    summary: NpsSummary


class Point(msgspec.Struct, frozen=True, kw_only=True):
    start: date
    end: date
    summary: NpsSummary


def _counters_can_answer(query: ResultQuery, dimension: str | None = None) -> bool:
    """Counters hold one dimension at a time; two or more filters are answered by the database."""
    dims = {s.dimension for s in query.segments}
    if dimension is not None:
        dims.add(dimension)
    return len(query.segments) <= 1 and len(dims) <= 1


async def _histograms(
    query: ResultQuery,
    periods: Sequence[tuple[date, date]],
    *,
    counters: HistogramSource,
    database: HistogramSource,
) -> list[Histogram]:
    if _counters_can_answer(query):
        found = await counters.histograms(query, periods)
        if found is not None:
            return found
    result = await database.histograms(query, periods)
    assert result is not None
    return result


async def nps_for_period(
    query: ResultQuery, *, counters: HistogramSource, database: HistogramSource
) -> NpsSummary:
    (histogram,) = await _histograms(
        query, [(query.start, query.end)], counters=counters, database=database
    )
    return summarize(histogram)


async def nps_trend(
    query: ResultQuery,
    interval: TrendInterval,
    *,
    counters: HistogramSource,
    database: HistogramSource,
) -> list[Point]:
    periods = trend_buckets(query.start, query.end, interval)
    histograms = await _histograms(query, periods, counters=counters, database=database)
    return [
        Point(start=s, end=e, summary=summarize(h))
        for (s, e), h in zip(periods, histograms, strict=True)
    ]


async def nps_breakdown(
    query: ResultQuery,
    dimension: str,
    *,
    counters: HistogramSource,
    database: HistogramSource,
) -> list[Group]:
    """One group per value seen in the period, largest groups first."""
    found = None
    if _counters_can_answer(query, dimension):
        found = await counters.breakdown(query, dimension)
    if found is None:
        found = await database.breakdown(query, dimension)
        assert found is not None
    groups = [Group(value=v, summary=summarize(h)) for v, h in found.items() if sum(h) > 0]
    groups.sort(key=lambda g: (-g.summary.total, g.value))
    return groups
