"""Insights: what the comments of detractors and promoters are about."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get
from litestar.params import FromQuery, QueryParameter

from api.auth import principal_of, requires
from api.controllers.results import From, Segment, To
from api.docs import problems
from api.params import result_query, today_for
from api.schemas.insights import ThemesOut, themes_out
from api.services import services_of
from domain.insights import ThemesQuery, ThemesVs, comment_themes
from domain.model import Scope


class InsightsController(Controller):
    path = "/v1/insights"
    tags = ["insights"]
    security = [{"apiKey": []}]
    opt = requires(Scope.RESULTS_READ)

    @get(
        "/themes",
        operation_id="getCommentThemes",
        summary="Words and phrases that separate detractors' comments from promoters'",
        description="Side `a` is the detractors, side `b` the promoters (`vs=promoters`), or "
        "with `vs=rest` the detractors of the `segment` against every other detractor of the "
        "period. Each theme's z-score comes from the weighted log-odds ratio with an "
        "informative Dirichlet prior (Monroe, Colaresi & Quinn 2008), the prior being the "
        "tenant's comments of the 365 days up to `to` (the newest 50,000). Comments are "
        "lemmatised per language (German and English; others are used as written), stop "
        "words, numbers, e-mail addresses, URLs and phone numbers are left out. Excluded "
        "answers and erased comments are never read. Beyond 50,000 comments the newest are "
        "used and `comments.capped` is true.",
        responses=problems(403),
    )
    async def themes(
        self,
        request: Request,
        survey_id: FromQuery[UUID | None] = None,
        from_: From = None,
        to: To = None,
        segment: Segment = None,
        vs: FromQuery[ThemesVs] = ThemesVs.PROMOTERS,
        limit: Annotated[
            int, QueryParameter(ge=1, le=50, description="themes per side, 1 to 50")
        ] = 10,
        min_comments: Annotated[
            int, QueryParameter(ge=1, le=1000, description="comments a term needs to count")
        ] = 3,
    ) -> ThemesOut:
        services = services_of(request)
        principal = principal_of(request)
        query = result_query(
            principal,
            survey_id=survey_id,
            start=from_,
            end=to,
            segments=segment,
            today=today_for(principal, services.clock()),
        )
        tq = ThemesQuery(query=query, vs=vs, limit=limit, min_comments=min_comments)
        found = await comment_themes(tq, uow=services.uow, analyzer=services.analyzer)
        return themes_out(tq, found)
