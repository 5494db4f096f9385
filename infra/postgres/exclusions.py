"""Excluding an answer from every calculation: the flag and its counter change, in one go."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from domain.errors import NotFound
from domain.model import SurveyResponse
from infra.postgres.customers import touch_customers
from infra.postgres.outbox import OutboxRow, to_outbox_row
from infra.postgres.responses import COLUMNS, to_response


async def set_excluded(
    conn: asyncpg.Connection,
    *,
    tenant_id: UUID,
    response_id: UUID,
    excluded: bool,
    reason: str | None,
) -> tuple[SurveyResponse, list[OutboxRow]]:
    """Flag (or unflag) an answer; when the flag changes, its counters change by -1/+1."""
    # The row lock serialises concurrent flips: each sees the flag the previous one left.
    was = await conn.fetchval(
        "SELECT excluded FROM responses WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
        tenant_id,
        response_id,
    )
    if was is None:
        raise NotFound("response not found")
    row = await conn.fetchrow(
        f"UPDATE responses SET excluded = $3, exclusion_reason = $4"
        f" WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}",
        tenant_id,
        response_id,
        excluded,
        reason if excluded else None,
    )
    outbox: list[OutboxRow] = []
    if was != excluded:
        counted = await conn.fetchrow(
            "INSERT INTO counter_outbox (tenant_id, response_id, survey_id, local_date, score,"
            " segments, delta) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " RETURNING id, xid::text AS xid, tenant_id, response_id, survey_id, local_date,"
            " score, segments, delta",
            tenant_id,
            response_id,
            row["survey_id"],
            row["local_date"],
            row["score"],
            row["segments"],
            -1 if excluded else 1,
        )
        outbox.append(to_outbox_row(counted))
        if row["customer_id"] is not None:  # the CRM's copy of this answer changed; last
            await touch_customers(conn, tenant_id, [row["customer_id"]])
    return to_response(row), outbox
