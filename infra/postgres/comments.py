"""The comments that theme analysis reads: commented, not excluded answers, newest first."""

from __future__ import annotations

from datetime import date

import asyncpg

from domain.insights import CommentRow
from domain.model import ResultQuery, SegmentFilter
from infra.postgres.results import _filter

# An erased customer's comments are NULL: they cannot appear. Blank comments say nothing.
_COMMENTED = "NOT excluded AND comment IS NOT NULL AND btrim(comment) <> ''"
_IN_QUERY = """local_date BETWEEN $2 AND $3 AND ($4::uuid IS NULL OR survey_id = $4)
  AND segments @> $5::jsonb"""
_COMMENTS = f"""
SELECT id, score, answered_at, comment, segments @> $6::jsonb AS marked FROM responses
WHERE tenant_id = $1 AND {_COMMENTED} AND {_IN_QUERY}
ORDER BY answered_at DESC, id DESC LIMIT $7
"""
_COUNT = f"SELECT count(*) FROM responses WHERE tenant_id = $1 AND {_COMMENTED} AND {_IN_QUERY}"
_OTHERS = f"""
SELECT comment FROM responses
WHERE tenant_id = $1 AND {_COMMENTED} AND local_date BETWEEN $6 AND $3
  AND NOT ({_IN_QUERY})
ORDER BY answered_at DESC, id DESC LIMIT $7
"""


def _containing(filters: tuple[SegmentFilter, ...]) -> dict[str, str]:
    return {f.dimension: f.value for f in filters}


class PgCommentRepository:
    """Implements domain.ports.CommentRepository on a unit of work's connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def comments(
        self, query: ResultQuery, *, cap: int, marked: tuple[SegmentFilter, ...] = ()
    ) -> tuple[list[CommentRow], int]:
        segments = _filter(query)
        if segments is None:
            return [], 0
        args = (query.tenant_id, query.start, query.end, query.survey_id, segments)
        rows = await self._conn.fetch(_COMMENTS, *args, _containing(marked), cap)
        total = len(rows) if len(rows) < cap else await self._conn.fetchval(_COUNT, *args)
        return [
            CommentRow(response_id=r[0], score=r[1], answered_at=r[2], comment=r[3], marked=r[4])
            for r in rows
        ], total

    async def others(self, query: ResultQuery, *, start: date, cap: int) -> list[str]:
        if cap <= 0:
            return []
        segments = _filter(query) or {}
        rows = await self._conn.fetch(
            _OTHERS, query.tenant_id, query.start, query.end, query.survey_id, segments, start, cap
        )
        return [r[0] for r in rows]
