"""Surveys of the calling tenant."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, JSONBody

from api.auth import principal_of, requires
from api.body import StrictBody
from api.created import created
from api.docs import header, problems
from api.params import Cursor, Limit
from api.schemas.surveys import SurveyCreate, SurveyList, SurveyOut, SurveyUpdate, survey_out
from api.services import services_of
from domain import surveys
from domain.model import DEFAULT_PAGE, Scope


class SurveyController(Controller):
    path = "/v1/surveys"
    tags = ["surveys"]
    security = [{"apiKey": []}]

    @post(
        "/",
        operation_id="createSurvey",
        summary="Create a survey",
        opt=requires(Scope.MANAGE),
        dto=StrictBody[SurveyCreate],
        return_dto=None,
        responses=problems(400, 403),
        response_headers=header("Location"),
    )
    async def create(self, request: Request, data: JSONBody[SurveyCreate]) -> Response[SurveyOut]:
        services = services_of(request)
        survey = await surveys.create_survey(
            tenant_id=principal_of(request).tenant_id,
            name=data.name,
            kind=data.kind,
            question=data.question,
            now=services.clock(),
            uow=services.uow,
        )
        return created(survey_out(survey), f"{self.path}/{survey.id}")

    @get(
        "/",
        operation_id="listSurveys",
        summary="List surveys, newest first",
        opt=requires(Scope.RESULTS_READ, Scope.MANAGE),
        responses=problems(403),
    )
    async def list_surveys(
        self,
        request: Request,
        limit: Limit = DEFAULT_PAGE,
        cursor: Cursor = None,
    ) -> SurveyList:
        services = services_of(request)
        page = await surveys.list_surveys(
            tenant_id=principal_of(request).tenant_id,
            limit=limit,
            cursor=cursor,
            uow=services.uow,
        )
        return SurveyList(data=[survey_out(s) for s in page.items], next_cursor=page.next_cursor)

    @get(
        "/{survey_id:uuid}",
        operation_id="getSurvey",
        summary="Get a survey",
        opt=requires(Scope.RESULTS_READ, Scope.MANAGE),
        responses=problems(403, 404),
    )
    async def get_survey(self, request: Request, survey_id: FromPath[UUID]) -> SurveyOut:
        services = services_of(request)
        survey = await surveys.get_survey(
            tenant_id=principal_of(request).tenant_id, survey_id=survey_id, uow=services.uow
        )
        return survey_out(survey)

    @patch(
        "/{survey_id:uuid}",
        operation_id="updateSurvey",
        summary="Change a survey",
        opt=requires(Scope.MANAGE),
        dto=StrictBody[SurveyUpdate],
        return_dto=None,
        responses=problems(400, 403, 404),
    )
    async def update(
        self,
        request: Request,
        survey_id: FromPath[UUID],
        data: JSONBody[SurveyUpdate],
    ) -> SurveyOut:
        services = services_of(request)
        survey = await surveys.update_survey(
            tenant_id=principal_of(request).tenant_id,
            survey_id=survey_id,
            changes=surveys.SurveyChanges(**msgspec.structs.asdict(data)),
            now=services.clock(),
            uow=services.uow,
        )
        return survey_out(survey)

    @post(
        "/{survey_id:uuid}/archive",
        operation_id="archiveSurvey",
        status_code=200,
        summary="Archive a survey: results stay, new answers are refused with 409",
        opt=requires(Scope.MANAGE),
        responses=problems(403, 404),
    )
    async def archive(self, request: Request, survey_id: FromPath[UUID]) -> SurveyOut:
        services = services_of(request)
        survey = await surveys.archive_survey(
            tenant_id=principal_of(request).tenant_id,
            survey_id=survey_id,
            now=services.clock(),
            uow=services.uow,
        )
        return survey_out(survey)
