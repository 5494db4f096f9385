"""Changes the company made (and their impact) and NPS targets."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.auth import principal_of, requires
from api.body import StrictBody
from api.created import created
from api.docs import header, problems
from api.params import Cursor, Limit, date_query, parse_date, parse_segment, today_for
from api.schemas.decisions import (
    ChangeCreate,
    ChangeList,
    ChangeOut,
    ChangeUpdate,
    Impact,
    TargetList,
    TargetOut,
    TargetPut,
    change_out,
    target_out,
)
from api.schemas.results import compare_result
from api.services import services_of
from domain import decisions
from domain.errors import InvalidInput
from domain.model import DEFAULT_PAGE, Scope

WindowDays = Annotated[int, QueryParameter(ge=1, le=365, description="days before and after")]
# From 0.1 point: below, the answers needed overflow any count (5e-324 divided by zero).
MinEffect = Annotated[
    float,
    QueryParameter(
        ge=0.1, le=200, description="smallest difference worth detecting, 0.1 to 200 points"
    ),
]


class ChangeController(Controller):
    path = "/v1/changes"
    tags = ["decisions"]
    security = [{"apiKey": []}]

    @post(
        "/",
        operation_id="createChange",
        summary="Record a change the company made",
        opt=requires(Scope.MANAGE),
        dto=StrictBody[ChangeCreate],
        return_dto=None,
        responses=problems(400, 403, 404),
        response_headers=header("Location"),
    )
    async def create(self, request: Request, data: JSONBody[ChangeCreate]) -> Response[ChangeOut]:
        services = services_of(request)
        change = decisions.new_change(
            tenant_id=principal_of(request).tenant_id,
            title=data.title,
            description=data.description,
            effective_on=data.effective_on,
            survey_id=data.survey_id,
            segment=parse_segment(data.segment, "segment") if data.segment else None,
            now=services.clock(),
        )
        await decisions.record_change(change, uow=services.uow)
        return created(change_out(change), f"{self.path}/{change.id}")

    @get(
        "/",
        operation_id="listChanges",
        summary="List changes by effective date",
        description="Oldest `effective_on` first (ties by id); `from`/`to` bound "
        "`effective_on`, `survey_id` keeps the changes recorded for that survey.",
        opt=requires(Scope.RESULTS_READ, Scope.MANAGE),
        responses=problems(403),
    )
    async def list_changes(
        self,
        request: Request,
        from_: Annotated[str | None, date_query("YYYY-MM-DD", name="from")] = None,
        to: Annotated[str | None, date_query("YYYY-MM-DD, inclusive")] = None,
        survey_id: FromQuery[UUID | None] = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: Cursor = None,
    ) -> ChangeList:
        services = services_of(request)
        start, end = parse_date(from_, "from"), parse_date(to, "to")
        if start and end and start > end:
            raise InvalidInput.field("from", "must not be after 'to'")
        page = await decisions.list_changes(
            tenant_id=principal_of(request).tenant_id,
            start=start,
            end=end,
            survey_id=survey_id,
            limit=limit,
            cursor=cursor,
            uow=services.uow,
        )
        return ChangeList(data=[change_out(c) for c in page.items], next_cursor=page.next_cursor)

    @get(
        "/{change_id:uuid}",
        operation_id="getChange",
        summary="Get a change",
        opt=requires(Scope.RESULTS_READ, Scope.MANAGE),
        responses=problems(403, 404),
    )
    async def get_change(self, request: Request, change_id: FromPath[UUID]) -> ChangeOut:
        services = services_of(request)
        change = await decisions.get_change(
            tenant_id=principal_of(request).tenant_id, change_id=change_id, uow=services.uow
        )
        return change_out(change)

    @patch(
        "/{change_id:uuid}",
        operation_id="updateChange",
        summary="Edit a change",
        opt=requires(Scope.MANAGE),
        dto=StrictBody[ChangeUpdate],
        return_dto=None,
        responses=problems(400, 403, 404),
    )
    async def update(
        self,
        request: Request,
        change_id: FromPath[UUID],
        data: JSONBody[ChangeUpdate],
    ) -> ChangeOut:
        services = services_of(request)
        fields = msgspec.structs.asdict(data)
        if isinstance(data.segment, str):
            fields["segment"] = parse_segment(data.segment, "segment")
        change = await decisions.update_change(
            tenant_id=principal_of(request).tenant_id,
            change_id=change_id,
            edit=decisions.ChangeEdit(**fields),
            now=services.clock(),
            uow=services.uow,
        )
        return change_out(change)

    @delete(
        "/{change_id:uuid}",
        operation_id="deleteChange",
        summary="Delete a change",
        opt=requires(Scope.MANAGE),
        responses=problems(403, 404),
    )
    async def delete_change(self, request: Request, change_id: FromPath[UUID]) -> None:
        services = services_of(request)
        await decisions.delete_change(
            tenant_id=principal_of(request).tenant_id, change_id=change_id, uow=services.uow
        )

    @get(
        "/{change_id:uuid}/impact",
        operation_id="getChangeImpact",
        summary="Did the change work? Before vs after, with a decision",
        description="Before: the `window_days` ending the day before `effective_on`; after: "
        "as many days from `effective_on`, capped at today. `needed_per_group` is how many "
        "answers per period would detect a difference of `min_effect` points with 80 % "
        "power at alpha 0.05, given the observed distribution. `a` is before, `b` after; "
        "`decision` is `improved` or `worsened` exactly when `significant` (the interval "
        "lies above or below 0), `no_detectable_change` otherwise, `insufficient_data` when "
        "a side has no answers.",
        opt=requires(Scope.RESULTS_READ),
        responses=problems(403, 404),
    )
    async def impact(
        self,
        request: Request,
        change_id: FromPath[UUID],
        window_days: WindowDays = 30,
        min_effect: MinEffect = 10.0,
    ) -> Impact:
        services = services_of(request)
        principal = principal_of(request)
        change, got = await decisions.impact_of_change(
            tenant_id=principal.tenant_id,
            change_id=change_id,
            window_days=window_days,
            today=today_for(principal, services.clock()),
            min_effect=min_effect,
            uow=services.uow,
            counters=services.counters,
            stored_histograms=services.stored_histograms,
        )
        base = compare_result(
            got.before, got.after, got.comparison, (got.before_period, got.after_period)
        )
        return Impact(
            **msgspec.structs.asdict(base),
            change=change_out(change),
            window_days=window_days,
            decision=got.decision,
            min_effect=min_effect,
            needed_per_group=got.needed_per_group,
        )


class TargetController(Controller):
    path = "/v1/targets"
    tags = ["decisions"]
    security = [{"apiKey": []}]

    @put(
        "/",
        operation_id="putTarget",
        summary="Set the NPS target of a scope (upsert)",
        description="A scope is a survey (or all surveys) and at most one segment. Results of "
        "that exact scope then carry `target`, `gap` and `target_met`.",
        opt=requires(Scope.MANAGE),
        dto=StrictBody[TargetPut],
        return_dto=None,
        responses=problems(400, 403, 404),
    )
    async def put_target(self, request: Request, data: JSONBody[TargetPut]) -> TargetOut:
        services = services_of(request)
        target = decisions.new_target(
            tenant_id=principal_of(request).tenant_id,
            survey_id=data.survey_id,
            segment=parse_segment(data.segment, "segment") if data.segment else None,
            nps=data.nps,
            now=services.clock(),
        )
        stored = await decisions.set_target(target, uow=services.uow, cache=services.target_cache)
        return target_out(stored)

    @get(
        "/",
        operation_id="listTargets",
        summary="List targets",
        opt=requires(Scope.RESULTS_READ, Scope.MANAGE),
        responses=problems(403),
    )
    async def list_targets(
        self, request: Request, limit: Limit = DEFAULT_PAGE, cursor: Cursor = None
    ) -> TargetList:
        services = services_of(request)
        page = await decisions.list_targets(
            tenant_id=principal_of(request).tenant_id,
            limit=limit,
            cursor=cursor,
            uow=services.uow,
        )
        return TargetList(data=[target_out(t) for t in page.items], next_cursor=page.next_cursor)

    @delete(
        "/{target_id:uuid}",
        operation_id="deleteTarget",
        summary="Delete a target",
        opt=requires(Scope.MANAGE),
        responses=problems(403, 404),
    )
    async def delete_target(self, request: Request, target_id: FromPath[UUID]) -> None:
        services = services_of(request)
        await decisions.delete_target(
            tenant_id=principal_of(request).tenant_id,
            target_id=target_id,
            uow=services.uow,
            cache=services.target_cache,
        )
