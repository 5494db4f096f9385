"""The huddle digest of a week or month, as JSON, Markdown or one HTML page."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPI, OpenAPIMediaType, Parameter, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import FromPath, QueryParameter

from api.auth import principal_of, requires
from api.digest_delivery import digest_ports
from api.digest_html import html
from api.digest_markdown import markdown
from api.docs import problems
from api.params import date_query, parse_date, parse_dimension, today_for
from api.schemas.digests import DigestOut, digest_out, example_digest
from api.services import services_of
from domain.digest import MAX_DIMENSIONS, DigestPeriod, build_digest, digest_schedule
from domain.errors import InvalidInput
from domain.model import SEGMENT_NAME, Scope

MARKDOWN = "text/markdown"  # Litestar adds "; charset=utf-8" to text types
HTML = "text/html"
_OFFERED = ["application/json", "text/markdown", "text/html"]


def dimensions_of(values: list[str] | None) -> list[str]:
    values = values or []
    if len(values) > MAX_DIMENSIONS:
        raise InvalidInput.field("dimension", f"at most {MAX_DIMENSIONS} dimensions")
    return list(dict.fromkeys(parse_dimension(v) for v in values))


def document_digest(spec: OpenAPI) -> OpenAPI:
    """State what Litestar cannot infer: the period's values and the two text forms."""
    item = (spec.paths or {}).get("/v1/digests/{period}")
    op = item.get if item else None
    if op is None:
        return spec
    for param in op.parameters or []:
        if isinstance(param, Parameter) and param.name == "period":
            param.schema = Schema(type=OpenAPIType.STRING, enum=[p.value for p in DigestPeriod])
        if isinstance(param, Parameter) and param.name == "dimension":
            param.schema = Schema(
                type=OpenAPIType.ARRAY,
                items=Schema(type=OpenAPIType.STRING, pattern=SEGMENT_NAME.pattern),
                max_items=MAX_DIMENSIONS,
                description="segment dimensions whose values are flagged (repeat the parameter)",
            )
            param.examples = {"example": Example(summary="dimension", value=["team", "region"])}
    ok = (op.responses or {}).get("200")
    content = getattr(ok, "content", None)
    if content is not None:
        json_body = content.get("application/json")
        if json_body is not None:
            value = msgspec.to_builtins(example_digest())
            json_body.examples = {"example": Example(summary="A week's digest", value=value)}
        text = Schema(type=OpenAPIType.STRING)
        content["text/markdown"] = OpenAPIMediaType(
            schema=text, example="**NPS huddle digest: Week 2026-W48 (2026-11-23 to 2026-11-29)**"
        )
        content["text/html"] = OpenAPIMediaType(
            schema=text, example='<!doctype html><html lang="en">…</html>'
        )
    return spec


class DigestController(Controller):
    path = "/v1/digests"
    tags = ["insights"]
    security = [{"apiKey": []}]
    opt = requires(Scope.RESULTS_READ)

    @get(
        "/{period:str}",
        operation_id="getDigest",
        summary="The huddle digest of a week or month (JSON, Markdown or HTML)",
        description="`period` is `week` (ISO week, Monday to Sunday) or `month`, in the "
        "tenant's calendar; `date` is any day in it (default today). Send `Accept: "
        "text/markdown` for Markdown that pastes into chat tools, `text/html` for one "
        "self-contained page with a chart of the last 12 periods, or JSON (the default). "
        "Contents: the NPS with its interval, the previous period and whether the change "
        "is real, the target, segments of the chosen `dimension`s (default: those of the "
        "tenant's digest schedule) flagged below or above the rest (Holm), the top "
        "detractor and promoter themes with a quote each, the newest detractor and "
        "promoter comments, the follow-up queue, and changes that took effect "
        "in the 90 days up to the period's end with their impact decision.",
        responses={
            200: ResponseSpec(
                data_container=DigestOut, description="The digest", generate_examples=False
            ),
            **problems(403),
        },
    )
    async def digest(
        self,
        request: Request,
        period: FromPath[str],
        date: Annotated[str | None, date_query("YYYY-MM-DD, any day of the period")] = None,
        dimension: Annotated[
            list[str] | None,
            QueryParameter(description="segment dimension to flag values of; repeatable, 5"),
        ] = None,
    ) -> Response[Any]:
        services = services_of(request)
        principal = principal_of(request)
        if period not in DigestPeriod.__members__.values():
            raise InvalidInput.field("period", "must be 'week' or 'month'")
        now = services.clock()
        today = today_for(principal, now)
        if dimension is None:  # the tenant's choice, as the scheduled digest uses it
            schedule = await digest_schedule(tenant_id=principal.tenant_id, uow=services.uow)
            dimension = list(schedule.dimensions)
        got = await build_digest(
            DigestPeriod(period),
            parse_date(date, "date") or today,
            tenant_id=principal.tenant_id,
            timezone=principal.timezone,
            dimensions=dimensions_of(dimension),
            now=now,
            today=today,
            ports=digest_ports(services),
        )
        out = digest_out(got)
        wanted = request.accept.best_match(_OFFERED, default="application/json")
        if wanted == "text/markdown":
            return Response(markdown(out), media_type=MARKDOWN)
        if wanted == "text/html":
            return Response(html(out), media_type=HTML)
        return Response(out, media_type=MediaType.JSON)
