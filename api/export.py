"""Export encodings: CSV (RFC 4180, header row) and NDJSON, produced in chunks as rows arrive."""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import msgspec
from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, OpenAPIResponse, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.response import Stream
from litestar.response.base import ASGIResponse

from api.schemas.responses import response_out
from domain.model import SurveyResponse
from domain.nps import classify

CHUNK = 64 * 1024
Row = TypeVar("Row")
CSV_FIELDS = [
    "id",
    "survey_id",
    "score",
    "category",
    "comment",
    "customer_id",
    "segments",
    "answered_at",
    "received_at",
    "locale",
    "external_id",
    "excluded",
    "exclusion_reason",
]


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading quote (OWASP CSV injection).

    Only text: numbers (a score) are written as they are.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"


def _csv_row(r: SurveyResponse) -> list[object]:
    return [
        r.id,
        r.survey_id,
        r.score,
        classify(r.score),
        safe_cell(r.comment),
        safe_cell(r.customer_id),
        msgspec.json.encode(r.segments).decode(),
        r.answered_at.isoformat(),
        r.received_at.isoformat(),
        safe_cell(r.locale),
        safe_cell(r.external_id),
        str(r.excluded).lower(),
        safe_cell(r.exclusion_reason),
    ]


async def csv_stream(
    header: list[str], rows: AsyncIterator[Row], cells: Callable[[Row], list[object]]
) -> AsyncIterator[bytes]:
    """RFC 4180 CSV (CRLF, quotes doubled) with a header row, in chunks of about CHUNK."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    async for row in rows:
        writer.writerow(cells(row))
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def ndjson_stream(
    rows: AsyncIterator[Row], to_wire: Callable[[Row], object]
) -> AsyncIterator[bytes]:
    """One JSON object per line, in chunks of about CHUNK."""
    encoder = msgspec.json.Encoder()
    chunk = bytearray()
    async for row in rows:
        chunk += encoder.encode(to_wire(row)) + b"\n"
        if len(chunk) >= CHUNK:
            yield bytes(chunk)
            chunk.clear()
    yield bytes(chunk)


def csv_chunks(answers: AsyncIterator[SurveyResponse]) -> AsyncIterator[bytes]:
    return csv_stream(CSV_FIELDS, answers, _csv_row)


def ndjson_chunks(answers: AsyncIterator[SurveyResponse]) -> AsyncIterator[bytes]:
    return ndjson_stream(answers, response_out)


def document_export_formats(spec: OpenAPI) -> OpenAPI:
    """The export's 200 in both formats it is sent in (the route can declare only one)."""
    op = (spec.paths or {})["/v1/responses/export"].get
    ok = (op.responses or {}).get("200") if op is not None else None
    if isinstance(ok, OpenAPIResponse) and ok.content is not None:
        ok.description = "Every matching answer, oldest first, in the format asked for"
        text = Schema(type=OpenAPIType.STRING)
        ok.content = {
            "text/csv": OpenAPIMediaType(schema=text),
            "application/x-ndjson": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.STRING,
                    description="One JSON object per line, each an answer as "
                    "`GET /v1/responses/{response_id}` gives it",
                )
            ),
        }
    return spec


class ExportStream(Stream):
    """A stream sent with its own media type: the route's (text/csv, for the spec) would win."""

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        kwargs["media_type"] = self.media_type
        return super().to_asgi_response(*args, **kwargs)
