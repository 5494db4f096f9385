"""Use-cases of results as the API shows them: breakdown groups judged against their
targets, trends with their target verdicts and the changes that annotate them."""

from __future__ import annotations

import msgspec

from domain.decisions import (
    ChangeRecord,
    TargetVerdict,
    changes_between,
    judge,
    overlaps,
    target_for,
    tenant_targets,
)
from domain.model import ResultQuery, SegmentFilter
from domain.periods import TrendInterval
from domain.ports import HistogramSource, TargetCache, UnitOfWorkFactory
from domain.results import (
    BreakdownSort,
    Change,
    Group,
    Point,
    VsRest,
    nps_breakdown_vs_rest,
    nps_trend,
    trend_changes,
)


class JudgedGroup(msgspec.Struct, frozen=True, kw_only=True):
    """A breakdown group against the rest, and against the target of its own scope."""

    group: Group
    vs_rest: VsRest
    verdict: TargetVerdict | None


async def breakdown_against_targets(
    query: ResultQuery,
    dimension: str,
    sort: BreakdownSort,
    *,
    counters: HistogramSource,
    stored_histograms: HistogramSource,
    uow: UnitOfWorkFactory,
    cache: TargetCache,
) -> list[JudgedGroup]:
    """Each value's group judged against the target of the query's scope plus that value;
    sorted by gap (furthest below first, values without a target last) when asked."""
    pairs = await nps_breakdown_vs_rest(
        query, dimension, sort, counters=counters, stored_histograms=stored_histograms
    )
    targets = await tenant_targets(query.tenant_id, uow=uow, cache=cache)
    judged = []
    for group, rest in pairs:
        value = SegmentFilter(dimension=dimension, value=group.value)
        target = target_for(
            targets, msgspec.structs.replace(query, segments=(*query.segments, value))
        )
        verdict = judge(target, group.summary) if target else None
        judged.append(JudgedGroup(group=group, vs_rest=rest, verdict=verdict))
    if sort is BreakdownSort.GAP:
        judged.sort(key=_by_gap)
    return judged


def _by_gap(j: JudgedGroup) -> tuple[bool, float, str]:
    gap = j.verdict.gap if j.verdict else None
    return (gap is None, gap or 0.0, j.group.value)


class AnnotatedTrend(msgspec.Struct, frozen=True, kw_only=True):
    """Trend points with their change since the last point with answers and their target
    verdict; the recorded changes that share answers with the trend (`overlaps`)."""

    points: list[tuple[Point, Change | None, TargetVerdict | None]]
    annotations: list[ChangeRecord]


async def trend_with_changes(
    query: ResultQuery,
    interval: TrendInterval,
    *,
    counters: HistogramSource,
    stored_histograms: HistogramSource,
    uow: UnitOfWorkFactory,
    cache: TargetCache,
) -> AnnotatedTrend:
    points = await nps_trend(
        query, interval, counters=counters, stored_histograms=stored_histograms
    )
    target = target_for(await tenant_targets(query.tenant_id, uow=uow, cache=cache), query)
    made = await changes_between(
        tenant_id=query.tenant_id, start=query.start, end=query.end, uow=uow
    )
    return AnnotatedTrend(
        points=[
            (p, c, judge(target, p.summary) if target else None)
            for p, c in zip(points, trend_changes(points), strict=True)
        ],
        annotations=[m for m in made if overlaps(m, query)],
    )
