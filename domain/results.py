"""Use-cases of results: NPS, breakdown and trend, from counters or from the database."""

from __future__ import annotations

import enum
import functools
from collections.abc import Sequence
from datetime import date

import msgspec

from domain.model import ResultQuery
from domain.nps import Histogram, NpsSummary, summarize
from domain.periods import TrendInterval, trend_buckets
from domain.ports import HistogramSource, UnitOfWorkFactory
from domain.stats import (
    Comparison,
    compare,
    critical_z,
    difference_interval,
    holm_adjust,
    holm_levels,
)


class Group(msgspec.Struct, frozen=True, kw_only=True):
    value: str
    summary: NpsSummary


class Point(msgspec.Struct, frozen=True, kw_only=True):
    start: date
    end: date
    summary: NpsSummary


class StoredHistograms:
    """The PostgreSQL histograms as a HistogramSource: each read in a unit of work of the
    query's tenant. Opened only when the database is really read (counters not ready, or
    two or more dimensions), so a read the counters serve costs no transaction."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def histograms(
        self, query: ResultQuery, periods: Sequence[tuple[date, date]]
    ) -> list[Histogram] | None:
        async with self._uow(query.tenant_id) as tx:
            return await tx.histograms.histograms(query, periods)

    async def breakdown(self, query: ResultQuery, dimension: str) -> dict[str, Histogram] | None:
        async with self._uow(query.tenant_id) as tx:
            return await tx.histograms.breakdown(query, dimension)


def counters_can_answer(query: ResultQuery, dimension: str | None = None) -> bool:
    """Counters hold one dimension at a time (the filter's, or the breakdown's): two or more
    are answered by the database. The counter store refuses the rest by this same rule."""
    segments = query.segments
    if len(segments) > 1:
        return False
    return not segments or dimension is None or segments[0].dimension == dimension


async def _histograms(
    query: ResultQuery,
    periods: Sequence[tuple[date, date]],
    *,
    counters: HistogramSource,
    stored_histograms: HistogramSource,
) -> list[Histogram]:
    if counters_can_answer(query):
        found = await counters.histograms(query, periods)
        if found is not None:
            return found
    result = await stored_histograms.histograms(query, periods)
    assert result is not None
    return result


async def nps_for_period(
    query: ResultQuery, *, counters: HistogramSource, stored_histograms: HistogramSource
) -> NpsSummary:
    (histogram,) = await _histograms(
        query, [(query.start, query.end)], counters=counters, stored_histograms=stored_histograms
    )
    return summarize(histogram)


async def nps_trend(
    query: ResultQuery,
    interval: TrendInterval,
    *,
    counters: HistogramSource,
    stored_histograms: HistogramSource,
) -> list[Point]:
    periods = trend_buckets(query.start, query.end, interval)
    histograms = await _histograms(
        query, periods, counters=counters, stored_histograms=stored_histograms
    )
    return [
        Point(start=s, end=e, summary=summarize(h))
        for (s, e), h in zip(periods, histograms, strict=True)
    ]


async def nps_breakdown(
    query: ResultQuery,
    dimension: str,
    *,
    counters: HistogramSource,
    stored_histograms: HistogramSource,
) -> list[Group]:
    """One group per value seen in the period, largest groups first."""
    found = None
    if counters_can_answer(query, dimension):
        found = await counters.breakdown(query, dimension)
    if found is None:
        found = await stored_histograms.breakdown(query, dimension)
        assert found is not None
    groups = [Group(value=v, summary=summarize(h)) for v, h in found.items() if sum(h) > 0]
    groups.sort(key=lambda g: (-g.summary.total, g.value))
    return groups


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """A trend point against the last earlier point that had answers (`compared_with`)."""

    compared_with: date
    difference: float | None
    p_value: float | None
    significant: bool | None


def trend_changes(points: Sequence[Point]) -> list[Change | None]:
    """Per point with answers, its change since the last earlier point with answers: empty
    points in between are skipped, not compared with. None for an empty point and the first."""
    out: list[Change | None] = []
    previous: Point | None = None
    for point in points:
        if point.summary.total == 0 or previous is None:
            out.append(None)
        else:
            c = compare(previous.summary.histogram, point.summary.histogram)
            out.append(
                Change(
                    compared_with=previous.start,
                    difference=c.difference,
                    p_value=c.p_value,
                    significant=c.significant,
                )
            )
        if point.summary.total:
            previous = point
    return out


class VsRest(msgspec.Struct, frozen=True, kw_only=True):
    """A segment value against every other answer of the same filter, judged by Holm's rule.

    `comparison.significant` and `flag` both say: Holm-adjusted p < alpha; the comparison's
    interval is built at `ci_level_pct`, the level of the Holm step that tested this value, so it
    excludes 0 exactly when the value is significant.
    """

    comparison: Comparison
    p_value_adjusted: float | None
    ci_level_pct: float | None
    flag: str  # "below" | "above" | "in_line"


def vs_rest(groups: Sequence[Group], total: Histogram, *, alpha: float = 0.05) -> list[VsRest]:
    """Each group against its complement, p-values Holm-adjusted over the groups tested."""
    histograms = tuple(g.summary.histogram for g in groups)
    judge = _kept_vs_rest if len(histograms) <= MAX_KEPT_VS_REST else _vs_rest
    return list(judge(histograms, tuple(total), alpha))


def _vs_rest(groups: tuple[Histogram, ...], total: Histogram, alpha: float) -> tuple[VsRest, ...]:
    comparisons = [
        compare(tuple(t - g for t, g in zip(total, grp, strict=True)), grp, alpha=alpha)
        for grp in groups
    ]
    tested = [i for i, c in enumerate(comparisons) if c.p_value is not None]
    raw = [comparisons[i].p_value or 1.0 for i in tested]
    adjusted = dict(zip(tested, holm_adjust(raw), strict=True))
    levels = dict(zip(tested, holm_levels(raw, alpha=alpha), strict=True))
    return tuple(
        _judged(c, adjusted.get(i), levels.get(i), alpha) for i, c in enumerate(comparisons)
    )


# A dashboard asks for the same breakdown again and again, and its counters rarely move in
# between: the judgement of a breakdown of up to MAX_KEPT_VS_REST values is kept per
# (groups' histograms, total, alpha), at most 128 of them (a few MB at worst).
MAX_KEPT_VS_REST = 100
_kept_vs_rest = functools.lru_cache(maxsize=128)(_vs_rest)


def _judged(c: Comparison, p_adj: float | None, level: float | None, alpha: float) -> VsRest:
    if p_adj is None or level is None or c.adjusted_difference is None:
        return VsRest(comparison=c, p_value_adjusted=None, ci_level_pct=None, flag="in_line")
    assert c.standard_error is not None
    significant = p_adj < alpha
    interval = difference_interval(c.adjusted_difference, c.standard_error, critical_z(level))
    flag = "in_line"
    if significant:
        flag = "below" if c.adjusted_difference < 0 else "above"
    return VsRest(
        comparison=msgspec.structs.replace(c, difference_ci95=interval, significant=significant),
        p_value_adjusted=p_adj,
        ci_level_pct=100 * (1 - level),
        flag=flag,
    )


async def nps_compare(
    a: ResultQuery, b: ResultQuery, *, counters: HistogramSource, stored_histograms: HistogramSource
) -> tuple[NpsSummary, NpsSummary, Comparison]:
    sa = await nps_for_period(a, counters=counters, stored_histograms=stored_histograms)
    sb = await nps_for_period(b, counters=counters, stored_histograms=stored_histograms)
    return sa, sb, compare(sa.histogram, sb.histogram)


class BreakdownSort(enum.StrEnum):
    TOTAL = "total"
    NPS = "nps"
    DIFFERENCE = "difference"
    GAP = "gap"  # NPS minus target, worst first; groups without a target last


async def nps_breakdown_vs_rest(
    query: ResultQuery,
    dimension: str,
    sort: BreakdownSort,
    *,
    counters: HistogramSource,
    stored_histograms: HistogramSource,
) -> list[tuple[Group, VsRest]]:
    """Groups with their comparison against the rest of the filter (root-cause drill-down)."""
    groups = await nps_breakdown(
        query, dimension, counters=counters, stored_histograms=stored_histograms
    )
    total = await nps_for_period(query, counters=counters, stored_histograms=stored_histograms)
    pairs = list(zip(groups, vs_rest(groups, total.histogram), strict=True))
    if sort is BreakdownSort.NPS:
        pairs.sort(key=lambda p: (p[0].summary.nps or 0.0, p[0].value))
    elif sort is BreakdownSort.DIFFERENCE:
        pairs.sort(key=lambda p: _by_difference(p[1].comparison.difference, p[0].value))
    return pairs


def _by_difference(difference: float | None, value: str) -> tuple[bool, float, str]:
    """Most negative difference first; a value with nothing to compare with last."""
    return (difference is None, difference or 0.0, value)
