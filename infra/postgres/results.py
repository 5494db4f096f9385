"""Histograms from PostgreSQL: the fallback and multi-dimension source, and the counters' truth."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import asyncpg
import msgspec

from domain.model import ResultQuery
from domain.nps import EMPTY_HISTOGRAM, Histogram
from infra.postgres.pool import without_statement_timeout

_PERIODS = """
SELECT p.idx, r.score, count(*)::int AS n
FROM unnest($2::date[], $3::date[]) WITH ORDINALITY AS p(lo, hi, idx)
JOIN responses r ON r.tenant_id = $1 AND r.local_date BETWEEN p.lo AND p.hi
WHERE NOT r.excluded AND ($4::uuid IS NULL OR r.survey_id = $4) AND r.segments @> $5::jsonb
GROUP BY p.idx, r.score
"""

_BREAKDOWN = """
SELECT r.segments ->> $4 AS value, r.score, count(*)::int AS n
FROM responses r
WHERE r.tenant_id = $1 AND r.local_date BETWEEN $2 AND $3 AND NOT r.excluded
  AND ($5::uuid IS NULL OR r.survey_id = $5) AND r.segments @> $6::jsonb AND r.segments ? $4
GROUP BY 1, 2
"""

# What the counters of one tenant must hold: counts per survey, local day and score, once
# without a segment (dimension NULL) and once per segment the answer carries.
AGGREGATE = """
SELECT survey_id, local_date, score, NULL::text AS dimension, NULL::text AS value,
       count(*)::int AS n
FROM responses WHERE tenant_id = $1 AND NOT excluded
GROUP BY survey_id, local_date, score
UNION ALL
SELECT r.survey_id, r.local_date, r.score, e.key, e.value, count(*)::int
FROM responses r CROSS JOIN LATERAL jsonb_each_text(r.segments) AS e(key, value)
WHERE r.tenant_id = $1 AND NOT r.excluded
GROUP BY r.survey_id, r.local_date, r.score, e.key, e.value
"""


class AggregateRow(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    survey_id: UUID
    local_date: date
    score: int
    dimension: str | None
    value: str | None
    n: int


# A whole tenant's aggregate may run far longer than the pool's statement limit
# (about a minute for 10 M answers on 2 cores): rebuild and verify give it an hour.
AGGREGATE_TIMEOUT_S = 3600.0


async def aggregate(conn: asyncpg.Connection, tenant_id: UUID) -> list[AggregateRow]:
    """The tenant's whole aggregate, in the caller's transaction or one of its own."""
    async with conn.transaction():  # a savepoint inside the caller's
        await without_statement_timeout(conn)
        rows = await conn.fetch(AGGREGATE, tenant_id, timeout=AGGREGATE_TIMEOUT_S)
    return [AggregateRow(**dict(r)) for r in rows]


def _filter(query: ResultQuery) -> dict[str, str] | None:
    """The segment filters as one jsonb containment; None when two of them contradict."""
    wanted: dict[str, str] = {}
    for f in query.segments:
        if wanted.setdefault(f.dimension, f.value) != f.value:
            return None
    return wanted


class PgHistogramRepository:
    """Implements domain.ports.HistogramSource with one aggregate query per call, on a unit
    of work's connection (`domain.results.StoredHistograms` opens one per read)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def histograms(
        self, query: ResultQuery, periods: Sequence[tuple[date, date]]
    ) -> list[Histogram]:
        """11 sums per inclusive period, all periods from one query."""
        segments = _filter(query)
        if segments is None:
            return [EMPTY_HISTOGRAM for _ in periods]
        rows = await self._conn.fetch(
            _PERIODS,
            query.tenant_id,
            [p[0] for p in periods],
            [p[1] for p in periods],
            query.survey_id,
            segments,
        )
        bins = [[0] * 11 for _ in periods]
        for row in rows:
            bins[row["idx"] - 1][row["score"]] = row["n"]
        return [tuple(b) for b in bins]

    async def breakdown(self, query: ResultQuery, dimension: str) -> dict[str, Histogram]:
        """{value: histogram} of the answers carrying `dimension`, over the query's period."""
        segments = _filter(query)
        if segments is None:
            return {}
        rows = await self._conn.fetch(
            _BREAKDOWN,
            query.tenant_id,
            query.start,
            query.end,
            dimension,
            query.survey_id,
            segments,
        )
        bins: dict[str, list[int]] = {}
        for row in rows:
            bins.setdefault(row["value"], [0] * 11)[row["score"]] = row["n"]
        return {value: tuple(b) for value, b in bins.items()}
