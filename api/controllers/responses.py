"""Answers: post one, post a batch, list and read them."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody
from litestar.response import Stream

from api.auth import principal_of, requires
from api.body import StrictBody
from api.created import locate
from api.docs import header, problems
from api.export import ExportFormat, ExportStream, csv_chunks, ndjson_chunks
from api.idempotency import idempotency_of
from api.params import Cursor, Limit, SegmentQuery, date_query, parse_date, parse_segments
from api.ratelimit import charge_items, per_item
from api.schemas.responses import (
    BatchCreate,
    BatchResult,
    ResponseCreate,
    ResponseList,
    ResponseOut,
    ResponseUpdate,
    response_out,
)
from api.services import services_of
from api.writes import BatchBody, build_batch, render
from domain import responses
from domain.browser import check_publishable_response
from domain.errors import InvalidInput
from domain.exports import export_responses
from domain.model import DEFAULT_PAGE, CallerKind, Scope
from domain.nps import Category
from domain.ports import ResponseFilter

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        max_length=255,
        required=False,
        description="Retries with the same key and body replay the first answer (kept 48 h).",
    ),
]


def _filter(
    tenant_id: UUID,
    survey_id: UUID | None,
    start_text: str | None,
    end_text: str | None,
    category: Category | None,
    segment: list[str] | None,
) -> ResponseFilter:
    start, end = parse_date(start_text, "from"), parse_date(end_text, "to")
    if start and end and start > end:
        raise InvalidInput.field("from", "must not be after 'to'")
    return ResponseFilter(
        tenant_id=tenant_id,
        survey_id=survey_id,
        start=start,
        end=end,
        category=category,
        segments=tuple((s.dimension, s.value) for s in parse_segments(segment)),
    )


class ResponseController(Controller):
    path = "/v1/responses"
    tags = ["responses"]
    security = [{"apiKey": []}]

    @post(
        "/",
        operation_id="createResponse",
        summary="Record one answer",
        description="201 with the stored answer; 200 with the stored answer when its "
        "`external_id` was recorded before (counted once). Also accepts a publishable key "
        "(`pk_…`): only for its surveys, only the `customer_id` and segment keys each survey "
        "allows, no `external_id`, bodies up to 8 KiB (403 or 413 otherwise).",
        opt=requires(Scope.RESPONSES_WRITE, browser=CallerKind.PUBLISHABLE),
        security=[{"publishableKey": []}],
        dto=StrictBody[ResponseCreate],
        return_dto=None,
        status_code=201,
        responses={
            200: ResponseSpec(
                ResponseOut,
                description="The answer with this `external_id`, recorded before",
                generate_examples=False,
            ),
            **problems(400, 403, 404, 409, 413),
        },
        response_headers=header("Location"),
    )
    async def create(
        self,
        request: Request,
        data: JSONBody[ResponseCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ResponseOut]:
        services = services_of(request)
        principal = principal_of(request)
        wanted = data.to_domain()
        if principal.kind is CallerKind.PUBLISHABLE:
            check_publishable_response(wanted, principal)
        answer = responses.build_response(wanted, principal=principal, now=services.clock())
        recorded = await responses.record_response(
            answer,
            principal=principal,
            ingestor=services.ingestor,
            idempotency=await idempotency_of(request, idempotency_key),
        )
        return locate(render(recorded), self.path)

    @post(
        "/batch",
        operation_id="createResponsesBatch",
        summary="Record up to 1000 answers",
        description="Each item is validated on its own: valid items are stored and counted even "
        "when others fail. 200 when every item succeeded, else 207 with one result per item.",
        opt={**requires(Scope.RESPONSES_WRITE), **per_item()},
        dto=BatchBody,
        return_dto=None,
        status_code=200,
        responses={
            207: ResponseSpec(
                BatchResult, description="Some items failed", generate_examples=False
            ),
            **problems(400, 403, 409, 413),
        },
    )
    async def create_batch(
        self,
        request: Request,
        data: JSONBody[BatchCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[BatchResult]:
        await charge_items(request, len(data.responses), field="responses")
        services = services_of(request)
        principal = principal_of(request)
        answers, invalid = build_batch(data.responses, principal, services.clock())
        recorded = await responses.record_batch(
            answers,
            rejected=invalid,
            principal=principal,
            ingestor=services.ingestor,
            idempotency=await idempotency_of(request, idempotency_key),
        )
        return render(recorded)

    @get(
        "/",
        operation_id="listResponses",
        summary="List answers, newest first",
        opt=requires(Scope.RESULTS_READ),
        responses=problems(403),
    )
    async def list_responses(
        self,
        request: Request,
        survey_id: FromQuery[UUID | None] = None,
        from_: Annotated[str | None, date_query("YYYY-MM-DD", name="from")] = None,
        to: Annotated[str | None, date_query("YYYY-MM-DD, inclusive")] = None,
        category: FromQuery[Category | None] = None,
        segment: SegmentQuery = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: Cursor = None,
    ) -> ResponseList:
        services = services_of(request)
        flt = _filter(principal_of(request).tenant_id, survey_id, from_, to, category, segment)
        page = await responses.list_responses(flt, limit=limit, cursor=cursor, uow=services.uow)
        return ResponseList(
            data=[response_out(r) for r in page.items], next_cursor=page.next_cursor
        )

    @get(
        "/export",
        operation_id="exportResponses",
        summary="Stream every matching answer as CSV or NDJSON",
        description="Oldest first, streamed as rows are read (nothing is held in memory); "
        "CSV has a header row and RFC 4180 quoting, `segments` as a JSON object.",
        opt=requires(Scope.RESULTS_READ),
        responses=problems(403),
        media_type="text/csv",
    )
    async def export(
        self,
        request: Request,
        format: FromQuery[ExportFormat] = ExportFormat.CSV,
        survey_id: FromQuery[UUID | None] = None,
        from_: Annotated[str | None, date_query("YYYY-MM-DD", name="from")] = None,
        to: Annotated[str | None, date_query("YYYY-MM-DD, inclusive")] = None,
        category: FromQuery[Category | None] = None,
        segment: SegmentQuery = None,
    ) -> Stream:
        services = services_of(request)
        flt = _filter(principal_of(request).tenant_id, survey_id, from_, to, category, segment)
        answers = export_responses(flt, uow=services.uow)
        if format is ExportFormat.NDJSON:
            return ExportStream(ndjson_chunks(answers), media_type="application/x-ndjson")
        return ExportStream(
            csv_chunks(answers),
            media_type="text/csv",  # Litestar adds "; charset=utf-8"
            headers={"Content-Disposition": 'attachment; filename="responses.csv"'},
        )

    @get(
        "/{response_id:uuid}",
        operation_id="getResponse",
        summary="Get one answer",
        opt=requires(Scope.RESULTS_READ),
        responses=problems(403, 404),
    )
    async def get_response(self, request: Request, response_id: FromPath[UUID]) -> ResponseOut:
        services = services_of(request)
        answer = await responses.get_response(
            tenant_id=principal_of(request).tenant_id, response_id=response_id, uow=services.uow
        )
        return response_out(answer)

    @patch(
        "/{response_id:uuid}",
        operation_id="updateResponse",
        summary="Exclude an answer from every calculation, or include it again",
        description="The answer stays stored and listed with its flag; counters change "
        "through the same outbox path as new answers, so `nps counters verify` stays exact.",
        opt=requires(Scope.MANAGE),
        dto=StrictBody[ResponseUpdate],
        return_dto=None,
        responses=problems(400, 403, 404),
    )
    async def update_response(
        self,
        request: Request,
        response_id: FromPath[UUID],
        data: JSONBody[ResponseUpdate],
    ) -> ResponseOut:
        services = services_of(request)
        answer = await responses.set_response_excluded(
            tenant_id=principal_of(request).tenant_id,
            response_id=response_id,
            excluded=data.excluded,
            reason=data.reason,
            ingestor=services.ingestor,
        )
        return response_out(answer)
