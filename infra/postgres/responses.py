"""Stored answers: reading one, listing with filters, and the batch insert of the write path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from uuid import UUID

import asyncpg

from domain.errors import NotFound
from domain.model import Page, SurveyResponse
from domain.nps import PASSIVE_MIN, PROMOTER_MIN, Category
from domain.ports import ResponseFilter
from infra.postgres.cursor import after_key, keyset_page
from infra.postgres.pool import server_cursor

COLUMNS = (
    "id, tenant_id, survey_id, score, comment, customer_id, segments, answered_at,"
    " received_at, local_date, locale, external_id, excluded, exclusion_reason"
)
EXPORT_PREFETCH = 2000
# The score range of each category, from the domain's one definition (domain.nps).
_CATEGORY_RANGES = {
    Category.PROMOTER: (PROMOTER_MIN, 10),
    Category.PASSIVE: (PASSIVE_MIN, PROMOTER_MIN - 1),
    Category.DETRACTOR: (0, PASSIVE_MIN - 1),
}


def to_response(row: asyncpg.Record) -> SurveyResponse:
    return SurveyResponse(
        id=row["id"],
        tenant_id=row["tenant_id"],
        survey_id=row["survey_id"],
        score=row["score"],
        comment=row["comment"],
        customer_id=row["customer_id"],
        segments=row["segments"],
        answered_at=row["answered_at"],
        received_at=row["received_at"],
        local_date=row["local_date"],
        locale=row["locale"],
        external_id=row["external_id"],
        excluded=row["excluded"],
        exclusion_reason=row["exclusion_reason"],
    )


class PgResponseRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def get(self, *, tenant_id: UUID, response_id: UUID) -> SurveyResponse:
        row = await self._conn.fetchrow(
            f"SELECT {COLUMNS} FROM responses WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            response_id,
        )
        if row is None:
            raise NotFound("response not found")
        return to_response(row)

    async def list(
        self, flt: ResponseFilter, *, limit: int, cursor: str | None
    ) -> Page[SurveyResponse]:
        """Newest first by (answered_at, id); dates are local days of the tenant's zone."""
        after_at, after_id = after_key(cursor, tuple[datetime, UUID])
        rows = await self._conn.fetch(
            f"SELECT {COLUMNS} FROM responses WHERE {FILTER}"
            " AND ($8::timestamptz IS NULL OR (answered_at, id) < ($8, $9))"
            " ORDER BY answered_at DESC, id DESC LIMIT $10",
            *filter_args(flt),
            after_at,
            after_id,
            limit + 1,
        )
        return keyset_page([to_response(r) for r in rows], limit, lambda x: (x.answered_at, x.id))

    async def stream(self, flt: ResponseFilter) -> AsyncIterator[SurveyResponse]:
        """Every matching answer, oldest first, through a server-side cursor (which lives in
        the unit of work's transaction), EXPORT_PREFETCH rows a round trip."""
        query = f"SELECT {COLUMNS} FROM responses WHERE {FILTER} ORDER BY answered_at, id"
        rows = server_cursor(self._conn, query, *filter_args(flt), prefetch=EXPORT_PREFETCH)
        async for row in rows:
            yield to_response(row)


# The answer filters shared by listing and export ($1..$7).
FILTER = (
    "tenant_id = $1 AND ($2::uuid IS NULL OR survey_id = $2)"
    " AND ($3::date IS NULL OR local_date >= $3) AND ($4::date IS NULL OR local_date <= $4)"
    " AND score BETWEEN $5 AND $6 AND segments @> $7::jsonb"
)


def filter_args(flt: ResponseFilter) -> tuple[object, ...]:
    low, high = _CATEGORY_RANGES.get(flt.category or "", (0, 10))
    return (flt.tenant_id, flt.survey_id, flt.start, flt.end, low, high, dict(flt.segments))
