"""Follow-up reports: stats over a period (with recovery) and the overdue announcements."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from domain.followups import CaseFilter, CaseTimes, Recovery, Status
from domain.webhook_payloads import followup_event
from domain.webhooks import EventType
from infra.postgres.categories import category_sql
from infra.postgres.followup_rows import CASE_FILTER, case_filter_args, fetch_case
from infra.postgres.webhooks_outbox import enqueue_events

OVERDUE = EventType.FOLLOWUP_OVERDUE

_CLAIM_OVERDUE = """
UPDATE followups f SET overdue_notified_at = $1
FROM (SELECT tenant_id, id FROM followups
      WHERE status <> 'closed' AND overdue_notified_at IS NULL AND due_at < $1
      ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED) due
WHERE f.tenant_id = due.tenant_id AND f.id = due.id
RETURNING f.tenant_id, f.id
"""
_RECOVERY = f"""
WITH closed AS (
    SELECT DISTINCT ON (r.customer_id) r.customer_id, r.id AS response_id,
           greatest(f.closed_at, r.answered_at) AS after
    FROM followups f JOIN responses r ON r.tenant_id = f.tenant_id AND r.id = f.response_id
    WHERE {CASE_FILTER} AND f.status = 'closed' AND r.customer_id IS NOT NULL
      AND f.created_at >= $7 AND f.created_at < $8
    ORDER BY r.customer_id, f.closed_at DESC
), next AS (
    SELECT (SELECT x.score FROM responses x
            WHERE x.tenant_id = $1 AND x.customer_id = c.customer_id
              AND x.answered_at > c.after AND x.id <> c.response_id AND NOT x.excluded
            ORDER BY x.answered_at, x.id LIMIT 1) AS score
    FROM closed c
)
SELECT count(*) AS customers, count(score) AS answered_again,
       count(*) FILTER (WHERE {category_sql("score")} = 'promoter') AS promoters,
       count(*) FILTER (WHERE {category_sql("score")} = 'passive') AS passives,
       count(*) FILTER (WHERE {category_sql("score")} = 'detractor') AS detractors
FROM next
"""


class PgOverdueCases:
    """The deadline sweep's statements, across tenants, on a unit of work's connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def announce(self, *, now: datetime, limit: int) -> int:
        """Mark up to `limit` cases that passed their due time (skipping those another
        sweep holds) and queue one followup.overdue event each; returns how many."""
        conn = self._conn
        due = await conn.fetch(_CLAIM_OVERDUE, now, limit)
        events = [
            followup_event(OVERDUE, r["tenant_id"], await fetch_case(conn, *r), now) for r in due
        ]
        await enqueue_events(conn, events)
        return len(due)


async def case_stats_rows(
    conn: asyncpg.Connection, flt: CaseFilter, *, start: datetime, end: datetime, now: datetime
) -> tuple[list[CaseTimes], Recovery]:
    """The cases opened in [start, end) and the recovery of their closed customers."""
    rows = await conn.fetch(
        "SELECT f.status, f.due_at, f.created_at, f.first_contact_at, f.closed_at"
        " FROM followups f JOIN responses r"
        " ON r.tenant_id = f.tenant_id AND r.id = f.response_id"
        f" WHERE {CASE_FILTER} AND f.created_at >= $7 AND f.created_at < $8",
        *case_filter_args(flt),
        start,
        end,
    )
    rec = await conn.fetchrow(_RECOVERY, *case_filter_args(flt), start, end)
    times = [
        CaseTimes(
            status=Status(r["status"]),
            overdue=r["status"] != "closed" and r["due_at"] < now,
            created_at=r["created_at"],
            first_contact_at=r["first_contact_at"],
            closed_at=r["closed_at"],
        )
        for r in rows
    ]
    return times, Recovery(**dict(rec))
