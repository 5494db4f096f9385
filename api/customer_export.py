"""The customer list's filters as query parameters, and its CSV/NDJSON export."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Schema
from litestar.openapi.spec.enums import OpenAPIFormat
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream

from api.auth import principal_of, requires
from api.docs import problems
from api.export import ExportFormat, ExportStream, csv_stream, ndjson_stream, safe_cell
from api.params import INSTANT, date_query, parse_date, parse_instant
from api.schemas.customers import change_out
from api.services import services_of
from domain.customers import (
    CustomerChange,
    CustomerFilter,
    FollowupState,
    Trend,
    export_customers,
)
from domain.errors import InvalidInput
from domain.model import Scope
from domain.nps import Category, classify

FILTERS_DOC = (
    "Filters (AND-ed) read where each customer stands, from their latest and previous "
    "answers that are not excluded: `category` of the latest answer (`promoter` for reward "
    "and referral lists), `from`/`to` the local day it was given, `followup` the state of "
    "its case (`none`, `open` — open or in progress —, `overdue`, `closed`; "
    "`category=detractor&followup=none` lists detractors nobody is working on) and "
    "`trend=down` customers whose latest category is worse than their previous one (a "
    "promoter who became a passive or detractor), `trend=up` the reverse. Each filter is "
    "served by an index on the customer rows, not by reading answers."
)
UpdatedSince = Annotated[
    str | None,
    QueryParameter(
        pattern=INSTANT, format=OpenAPIFormat.DATE_TIME, description="RFC 3339 instant with offset"
    ),
]
AnsweredFrom = Annotated[
    str | None,
    date_query("YYYY-MM-DD: latest answer on or after (local)", name="from"),
]
AnsweredTo = Annotated[str | None, date_query("YYYY-MM-DD: latest answer on or before (local)")]
CSV_FIELDS = [
    "customer_id",
    "updated_at",
    "latest_score",
    "latest_category",
    "latest_answered_at",
    "latest_survey_id",
    "latest_comment",
    "previous_category",
    "responses_count",
    "open_followups",
    "followup_status",
    "followup_overdue",
]


def document_customer_export(spec: OpenAPI) -> OpenAPI:
    """The export's 200 in both formats it is sent in (the route can declare only one)."""
    item = (spec.paths or {}).get("/v1/exports/customers")
    ok = (item.get.responses or {}).get("200") if item and item.get else None
    if isinstance(ok, OpenAPIResponse) and ok.content is not None:
        ok.description = "Every matching customer, in feed order, in the format asked for"
        ok.content = {
            "text/csv": OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, description=", ".join(CSV_FIELDS)),
                example=",".join(CSV_FIELDS) + "\r\n"
                "cus_4711,2026-11-22T09:30:01.204311+00:00,10,promoter,"
                "2026-11-22T09:30:00+00:00,0b6f5c1e-3f0a-4a8e-9d49-1c2f8e6b7a10,"
                "Great support,passive,3,0,,false\r\n",
            ),
            "application/x-ndjson": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.STRING,
                    description="One JSON object per line, each a customer as "
                    "`GET /v1/customers` lists it",
                )
            ),
        }
    return spec


def customer_filter(
    updated_since: str | None,
    category: Category | None,
    start: str | None,
    end: str | None,
    followup: FollowupState | None,
    trend: Trend | None,
) -> CustomerFilter:
    first, last = parse_date(start, "from"), parse_date(end, "to")
    if first is not None and last is not None and first > last:
        raise InvalidInput.field("from", "must not be after 'to'")
    return CustomerFilter(
        since=parse_instant(updated_since, "updated_since"),
        category=category,
        answered_from=first,
        answered_to=last,
        followup=followup,
        trend=trend,
    )


def _csv_row(c: CustomerChange) -> list[object]:
    latest = c.latest
    return [
        safe_cell(c.customer_id),
        c.updated_at.isoformat(),
        latest.score if latest else None,
        classify(latest.score) if latest else None,
        latest.answered_at.isoformat() if latest else None,
        latest.survey_id if latest else None,
        safe_cell(latest.comment) if latest else None,
        c.previous_category,
        c.responses_count,
        c.open_followups,
        c.followup_status,
        str(c.followup_overdue).lower(),
    ]


class CustomerExportController(Controller):
    path = "/v1/exports/customers"
    tags = ["customers"]
    security = [{"apiKey": []}]

    @get(
        "/",
        operation_id="exportCustomers",
        summary="Stream the customer list as CSV or NDJSON, with the list's filters",
        description="Every customer matching the filters of `GET /v1/customers`, in the same "
        "order, streamed. CSV has a header row and RFC 4180 quoting; a text cell that a "
        "spreadsheet would run as a formula starts with a quote. " + FILTERS_DOC,
        opt=requires(Scope.RESULTS_READ),
        responses=problems(403),
        media_type="text/csv",
    )
    async def export(
        self,
        request: Request,
        format: FromQuery[ExportFormat] = ExportFormat.CSV,
        updated_since: UpdatedSince = None,
        category: FromQuery[Category | None] = None,
        from_: AnsweredFrom = None,
        to: AnsweredTo = None,
        followup: FromQuery[FollowupState | None] = None,
        trend: FromQuery[Trend | None] = None,
    ) -> Stream:
        services = services_of(request)
        flt = customer_filter(updated_since, category, from_, to, followup, trend)
        rows = export_customers(
            tenant_id=principal_of(request).tenant_id,
            flt=flt,
            now=services.clock(),
            uow=services.uow,
        )
        if format is ExportFormat.NDJSON:
            return ExportStream(ndjson_stream(rows, change_out), media_type="application/x-ndjson")
        return ExportStream(
            csv_stream(CSV_FIELDS, rows, _csv_row),
            media_type="text/csv",  # Litestar adds "; charset=utf-8"
            headers={"Content-Disposition": 'attachment; filename="customers.csv"'},
        )
