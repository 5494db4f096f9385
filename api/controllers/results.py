"""Results: NPS for a period, by segment value, and over time."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter

from api.auth import principal_of, requires
from api.docs import problems
from api.params import parse_dimension, result_query, today_for
from api.schemas.results import (
    Breakdown,
    NpsResult,
    Trend,
    breakdown_group,
    nps_result,
    trend_point,
)
from api.services import ServicesDep
from domain import results as uc
from domain.model import ResultQuery, Scope
from domain.periods import TrendInterval

From = Annotated[
    str | None,
    QueryParameter(
        name="from", description="YYYY-MM-DD in the tenant's zone; default: 29 days ago"
    ),
]
To = Annotated[
    str | None,
    QueryParameter(description="YYYY-MM-DD, inclusive, in the tenant's zone; default today"),
]
Segment = Annotated[
    list[str] | None,
    QueryParameter(description="`dimension:value`; repeat to AND several (e.g. team:support)"),
]


def _query(
    request: Request[Any, Any, Any],
    services: ServicesDep,
    survey_id: UUID | None,
    start: str | None,
    end: str | None,
    segment: list[str] | None,
) -> ResultQuery:
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
    security = [{"apiKey": []}]
    guards = [requires(Scope.RESULTS_READ)]

    @get("/", operation_id="getNps", summary="NPS of a period", responses=problems(403))
    async def nps(
        self,
        request: Request,
        services: ServicesDep,
        survey_id: FromQuery[UUID | None] = None,
        from_: From = None,
        to: To = None,
        segment: Segment = None,
    ) -> NpsResult:
        query = _query(request, services, survey_id, from_, to, segment)
        summary = await uc.nps_for_period(
            query, counters=services.counters, database=services.database
        )
        return nps_result(summary, query.start, query.end)

    @get(
        "/breakdown",
        operation_id="getNpsBreakdown",
        summary="NPS per value of one dimension",
        responses=problems(403),
    )
    async def breakdown(
        self,
        request: Request,
        services: ServicesDep,
        dimension: FromQuery[str],
        survey_id: FromQuery[UUID | None] = None,
        from_: From = None,
        to: To = None,
        segment: Segment = None,
    ) -> Breakdown:
        query = _query(request, services, survey_id, from_, to, segment)
        groups = await uc.nps_breakdown(
            query,
            parse_dimension(dimension),
            counters=services.counters,
            database=services.database,
        )
        return Breakdown(
            dimension=dimension,
            from_=query.start,
            to=query.end,
            groups=[breakdown_group(g) for g in groups],
        )

    @get(
        "/trend",
        operation_id="getNpsTrend",
        summary="NPS per day, ISO week or month",
        responses=problems(403),
    )
    async def trend(
        self,
        request: Request,
        services: ServicesDep,
        interval: FromQuery[TrendInterval] = TrendInterval.DAY,
        survey_id: FromQuery[UUID | None] = None,
        from_: From = None,
        to: To = None,
        segment: Segment = None,
    ) -> Trend:
        query = _query(request, services, survey_id, from_, to, segment)
        points = await uc.nps_trend(
            query, interval, counters=services.counters, database=services.database
        )
        return Trend(
            interval=interval,
            from_=query.start,
            to=query.end,
            points=[trend_point(p) for p in points],
        )
