"""Follow-up cases of detractor answers: list, read, move through their states, notes, stats."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.auth import principal_of, requires
from api.body import StrictBody
from api.docs import problems
from api.params import (
    Cursor,
    Limit,
    Owner,
    SegmentQuery,
    date_query,
    parse_period,
    parse_segments,
    today_for,
)
from api.schemas.digest_schedule import DigestScheduleIn, schedule_in
from api.schemas.followups import (
    CaseList,
    CaseOut,
    CaseStatsOut,
    CaseUpdateIn,
    NoteCreate,
    NoteOut,
    SettingsOut,
    SettingsUpdate,
    case_out,
    note_out,
    settings_out,
    stats_out,
)
from api.services import services_of
from domain import followups
from domain.digest import digest_schedule, set_digest_schedule
from domain.model import DEFAULT_PAGE, Scope


def _filter(
    request: Request,
    *,
    survey_id: UUID | None,
    segment: list[str] | None,
    status: followups.Status | None = None,
    owner: str | None = None,
    overdue_at: datetime | None = None,
) -> followups.CaseFilter:
    segments = {f.dimension: f.value for f in parse_segments(segment)}
    return followups.CaseFilter(
        tenant_id=principal_of(request).tenant_id,
        status=status,
        owner=owner,
        overdue_at=overdue_at,
        survey_id=survey_id,
        segments=segments,
    )


class FollowupController(Controller):
    path = "/v1/followups"
    tags = ["follow-ups"]
    security = [{"apiKey": []}]
    opt = requires(Scope.MANAGE)  # routes needing other scopes say so

    @get(
        "/",
        operation_id="listFollowups",
        summary="List follow-up cases, newest first",
        responses=problems(400, 403),
    )
    async def list_cases(
        self,
        request: Request,
        status: FromQuery[followups.Status | None] = None,
        owner: Owner = None,
        overdue: Annotated[
            bool, QueryParameter(description="only cases past due and not closed")
        ] = False,
        survey_id: FromQuery[UUID | None] = None,
        segment: SegmentQuery = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: Cursor = None,
    ) -> CaseList:
        services = services_of(request)
        now = services.clock()
        flt = _filter(
            request,
            survey_id=survey_id,
            segment=segment,
            status=status,
            owner=owner,
            overdue_at=now if overdue else None,
        )
        page = await followups.list_cases(services.uow, flt, limit=limit, cursor=cursor)
        return CaseList(data=[case_out(c, now) for c in page.items], next_cursor=page.next_cursor)

    @get(
        "/stats",
        operation_id="followupStats",
        summary="Open, overdue and closed cases, times to contact and close, recovery",
        description="Over the cases opened in the period (local days of the tenant's zone; "
        "default the last 30 days). `recovery`: of the customers whose case was closed, how "
        "many answered again afterwards, and what their next answer was.",
        opt=requires(Scope.MANAGE, Scope.RESULTS_READ),
        responses=problems(400, 403),
    )
    async def stats(
        self,
        request: Request,
        from_: Annotated[str | None, date_query("YYYY-MM-DD", name="from")] = None,
        to: Annotated[str | None, date_query("YYYY-MM-DD, inclusive")] = None,
        survey_id: FromQuery[UUID | None] = None,
        segment: SegmentQuery = None,
    ) -> CaseStatsOut:
        services = services_of(request)
        principal, now = principal_of(request), services.clock()
        start, end = parse_period(from_, to, today=today_for(principal, now))
        result = await followups.followup_stats(
            services.uow,
            _filter(request, survey_id=survey_id, segment=segment),
            start=start,
            end=end,
            timezone=principal.timezone,
            now=now,
        )
        return stats_out(result)

    @get(
        "/{case_id:uuid}",
        operation_id="getFollowup",
        summary="Get a follow-up case with its notes",
        responses=problems(403, 404),
    )
    async def get_case(self, request: Request, case_id: FromPath[UUID]) -> CaseOut:
        services = services_of(request)
        case = await followups.get_case(
            services.uow, tenant_id=principal_of(request).tenant_id, case_id=case_id
        )
        return case_out(case, services.clock())

    @patch(
        "/{case_id:uuid}",
        operation_id="updateFollowup",
        summary="Assign, move or close a case",
        description="open → in_progress (sets first_contact_at) or closed; in_progress → "
        "closed; closed → open (reopens, clearing the resolution). Closing needs a "
        "resolution. Another move answers 409 naming the allowed ones; the status the "
        "case already has is no move (its other fields apply).",
        dto=StrictBody[CaseUpdateIn],
        return_dto=None,
        responses=problems(400, 403, 404, 409),
    )
    async def update_case(
        self,
        request: Request,
        case_id: FromPath[UUID],
        data: JSONBody[CaseUpdateIn],
    ) -> CaseOut:
        services = services_of(request)
        now = services.clock()
        case = await followups.update_case(
            services.uow,
            tenant_id=principal_of(request).tenant_id,
            case_id=case_id,
            update=data.to_domain(),
            now=now,
        )
        return case_out(case, now)

    @post(
        "/{case_id:uuid}/notes",
        operation_id="addFollowupNote",
        summary="Add a note to a case",
        dto=StrictBody[NoteCreate],
        return_dto=None,
        responses=problems(400, 403, 404),
    )
    async def add_note(
        self,
        request: Request,
        case_id: FromPath[UUID],
        data: JSONBody[NoteCreate],
    ) -> NoteOut:
        services = services_of(request)
        note = await followups.add_note(
            services.uow,
            tenant_id=principal_of(request).tenant_id,
            case_id=case_id,
            author=data.author,
            text=data.text,
            now=services.clock(),
        )
        return note_out(note)


class SettingsController(Controller):
    path = "/v1/settings"
    tags = ["follow-ups"]
    security = [{"apiKey": []}]
    opt = requires(Scope.MANAGE)

    @get(
        "/",
        operation_id="getSettings",
        summary="The tenant's follow-up settings",
        responses=problems(403),
    )
    async def get_settings(self, request: Request) -> SettingsOut:
        services = services_of(request)
        tenant_id = principal_of(request).tenant_id
        found = await followups.followup_settings(services.uow, tenant_id=tenant_id)
        digest = await digest_schedule(tenant_id=tenant_id, uow=services.uow)
        return settings_out(found, digest)

    @patch(
        "/",
        operation_id="updateSettings",
        summary="Follow-up categories and deadline; the huddle digest's schedule",
        description="Follow-up settings apply to answers stored from now on; existing cases "
        "keep their due_at. `digest` replaces the whole schedule: with `enabled`, the digest "
        "of the last `period` that ended is sent as a `digest.ready` webhook event at the "
        "first `weekday` (1 Monday .. 7 Sunday) and `hour` (tenant's zone) after it ended, "
        "flagging the values of `dimensions`; once per period, however many API processes "
        "run. A period whose send moment passed before the schedule was switched on is not "
        "sent. `retention_months`: once a day, answers older than that many months lose "
        "their comment and customer id and their follow-up notes are redacted (scores stay "
        "counted); each run that changed anything is in the audit log as "
        "`retention.applied`. `null` switches it off.",
        dto=StrictBody[SettingsUpdate],
        return_dto=None,
        responses=problems(400, 403),
    )
    async def update_settings(
        self, request: Request, data: JSONBody[SettingsUpdate]
    ) -> SettingsOut:
        services = services_of(request)
        categories = (
            data.followup_categories if isinstance(data.followup_categories, list) else None
        )
        sla = data.followup_sla_hours if isinstance(data.followup_sla_hours, int) else None
        tenant_id, now = principal_of(request).tenant_id, services.clock()
        updated = await followups.update_followup_settings(
            services.uow,
            tenant_id=tenant_id,
            categories=categories,
            sla_hours=sla,
            now=now,
            retention_months=data.retention_months,
        )
        if isinstance(data.digest, DigestScheduleIn):
            digest = await set_digest_schedule(
                tenant_id=tenant_id, schedule=schedule_in(data.digest), now=now, uow=services.uow
            )
        else:
            digest = await digest_schedule(tenant_id=tenant_id, uow=services.uow)
        return settings_out(updated, digest)
