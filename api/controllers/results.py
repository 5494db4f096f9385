"""Results: NPS for a period, by segment value, and over time."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter

from api.auth import principal_of, requires
from api.docs import problems
from api.params import (
    DIMENSION,
    SegmentQuery,
    compare_queries,
    date_query,
    parse_dimension,
    result_query,
    today_for,
)
from api.schemas.common import SEGMENT_FILTER
from api.schemas.results import (
    Breakdown,
    CompareResult,
    NpsResult,
    SampleSize,
    Trend,
    annotation,
    breakdown_group,
    compare_result,
    nps_result,
    trend_point,
)
from api.services import services_of
from domain import results
from domain.decisions import results_target
from domain.model import CallerKind, ResultQuery, Scope
from domain.periods import TrendInterval
from domain.result_annotations import breakdown_against_targets, trend_with_changes
from domain.stats import sample_size_for_margin

From = Annotated[
    str | None,
    date_query("YYYY-MM-DD in the tenant's zone; default: 29 days before `to`", name="from"),
]
To = Annotated[str | None, date_query("YYYY-MM-DD, inclusive, in the tenant's zone; default today")]
BreakdownOrder = Annotated[
    results.BreakdownSort,
    QueryParameter(
        description="`total`: most answers first; `nps`: lowest NPS first; `difference`: most "
        "negative `vs_rest.difference` first (a value with no rest last); `gap`: furthest "
        "below its target first (values without a target last). Ties by value."
    ),
]
Segment = SegmentQuery
PeriodEdge = Annotated[str | None, date_query("YYYY-MM-DD in the tenant's zone")]
SegmentSide = Annotated[
    str | None, QueryParameter(pattern=SEGMENT_FILTER, description="dimension:value")
]


def _query(
    request: Request[Any, Any, Any],
    survey_id: UUID | None,
    start: str | None,
    end: str | None,
    segment: list[str] | None,
) -> ResultQuery:
    services = services_of(request)
    principal = principal_of(request)
    return result_query(
        principal,
        survey_id=survey_id,
        start=start,
        end=end,
        segments=segment,
        today=today_for(principal, services.clock()),
    )


class ResultsController(Controller):
    path = "/v1/nps"
    tags = ["results"]
    security = [{"apiKey": []}, {"browserToken": []}]
    opt = requires(Scope.RESULTS_READ, browser=CallerKind.TOKEN)

    @get("/", operation_id="getNps", summary="NPS of a period", responses=problems(403))
    async def nps(
        self,
        request: Request,
        survey_id: FromQuery[UUID | None] = None,
        from_: From = None,
        to: To = None,
        segment: Segment = None,
    ) -> NpsResult:
        services = services_of(request)
        query = _query(request, survey_id, from_, to, segment)
        summary = await results.nps_for_period(
            query, counters=services.counters, stored_histograms=services.stored_histograms
        )
        verdict = await results_target(
            query, summary, uow=services.uow, cache=services.target_cache
        )
        return nps_result(summary, query.start, query.end, verdict)

    @get(
        "/breakdown",
        operation_id="getNpsBreakdown",
        summary="NPS per value of one dimension, each against the rest of the filter",
        description="`vs_rest` compares each value with every other answer of the same filter "
        "(not with the total that contains it); p-values are Holm-adjusted over the groups, "
        "and one rule gives both `significant` and `flag` (`below`, `above` or `in_line`): "
        "the adjusted p below 0.05. The interval is built at the Holm step's level, so it "
        "excludes 0 exactly when `significant` is true.",
        responses=problems(403),
    )
    async def breakdown(
        self,
        request: Request,
        dimension: Annotated[str, QueryParameter(pattern=DIMENSION, description="dimension name")],
        survey_id: FromQuery[UUID | None] = None,
        from_: From = None,
        to: To = None,
        segment: Segment = None,
        sort: BreakdownOrder = results.BreakdownSort.TOTAL,
    ) -> Breakdown:
        services = services_of(request)
        query = _query(request, survey_id, from_, to, segment)
        judged = await breakdown_against_targets(
            query,
            parse_dimension(dimension),
            sort,
            counters=services.counters,
            stored_histograms=services.stored_histograms,
            uow=services.uow,
            cache=services.target_cache,
        )
        groups = [breakdown_group(j.group, j.vs_rest, j.verdict) for j in judged]
        return Breakdown(dimension=dimension, from_=query.start, to=query.end, groups=groups)

    @get(
        "/trend",
        operation_id="getNpsTrend",
        summary="NPS per day, ISO week or month",
        description="Each point with answers carries `change` against the last earlier point "
        "with answers (`compared_with`; empty points are skipped, and are themselves "
        "`change: null`). `annotations` lists the recorded changes effective in the range "
        "whose scope shares answers with the trend's: any survey's change on a trend of all "
        "surveys, a change of all answers or of the trend's survey otherwise, and a "
        "segment-scoped change unless the trend filters that dimension on another value.",
        responses=problems(403),
    )
    async def trend(
        self,
        request: Request,
        interval: FromQuery[TrendInterval] = TrendInterval.DAY,
        survey_id: FromQuery[UUID | None] = None,
        from_: From = None,
        to: To = None,
        segment: Segment = None,
    ) -> Trend:
        services = services_of(request)
        query = _query(request, survey_id, from_, to, segment)
        trend = await trend_with_changes(
            query,
            interval,
            counters=services.counters,
            stored_histograms=services.stored_histograms,
            uow=services.uow,
            cache=services.target_cache,
        )
        return Trend(
            interval=interval,
            from_=query.start,
            to=query.end,
            points=[trend_point(p, c, verdict) for p, c, verdict in trend.points],
            annotations=[annotation(m) for m in trend.annotations],
        )

    @get(
        "/compare",
        operation_id="compareNps",
        summary="Is the difference between two periods or two segments real?",
        description="Either two periods (`a_from`, `a_to`, `b_from`, `b_to`) or two segments "
        "on one period (`a_segment`, `b_segment`, `from`, `to`). `difference` is b - a of "
        "the NPS values shown; the adjusted-Wald test (Lewis & Sauro) gives "
        "`adjusted_difference`, its interval, `z`, `p_value` and `significant` from one "
        "estimate, so the interval excludes 0 exactly when `significant` is true. The "
        "groups are treated as independent samples.",
        responses=problems(403),
    )
    async def compare(
        self,
        request: Request,
        survey_id: FromQuery[UUID | None] = None,
        segment: Segment = None,
        a_from: PeriodEdge = None,
        a_to: PeriodEdge = None,
        b_from: PeriodEdge = None,
        b_to: PeriodEdge = None,
        a_segment: SegmentSide = None,
        b_segment: SegmentSide = None,
        from_: From = None,
        to: To = None,
    ) -> CompareResult:
        services = services_of(request)
        principal = principal_of(request)
        a, b = compare_queries(
            principal,
            survey_id=survey_id,
            segments=segment,
            periods=(a_from, a_to, b_from, b_to),
            pair=(a_segment, b_segment),
            period=(from_, to),
            today=today_for(principal, services.clock()),
        )
        sa, sb, c = await results.nps_compare(
            a, b, counters=services.counters, stored_histograms=services.stored_histograms
        )
        out = compare_result(sa, sb, c, ((a.start, a.end), (b.start, b.end)))
        va = await results_target(a, sa, uow=services.uow, cache=services.target_cache)
        vb = await results_target(b, sb, uow=services.uow, cache=services.target_cache)
        return msgspec.structs.replace(
            out,
            a=nps_result(sa, a.start, a.end, va),
            b=nps_result(sb, b.start, b.end, vb),
        )

    @get(
        "/sample-size",
        operation_id="getNpsSampleSize",
        summary="Answers needed for a margin of error",
        description="Answers needed for a 95 % interval of ±`margin` points, given the "
        "distribution of the last 30 days (worst case when there are none), and how many "
        "more that is than the scope received in those 30 days: the 30 local days of the "
        "tenant's zone ending today (today included, `from`..`to`), each answer on the local "
        "day of its `answered_at`, excluded answers not counted.",
        responses=problems(403),
    )
    async def sample_size(
        self,
        request: Request,
        margin: Annotated[
            float, QueryParameter(ge=0.1, le=100, description="points, 0.1 to 100")
        ] = 5.0,
        survey_id: FromQuery[UUID | None] = None,
        segment: Segment = None,
    ) -> SampleSize:
        services = services_of(request)
        query = _query(request, survey_id, None, None, segment)
        summary = await results.nps_for_period(
            query, counters=services.counters, stored_histograms=services.stored_histograms
        )
        needed = sample_size_for_margin(summary.histogram, margin)
        return SampleSize(
            margin=margin,
            needed=needed,
            answers_last_30_days=summary.total,
            more_needed=max(0, needed - summary.total),
            from_=query.start,
            to=query.end,
            assumption="observed distribution of the last 30 days"
            if summary.total
            else "no answers yet: worst case (half promoters, half detractors)",
        )
