"""Follow-up cases and their notes; a case reads its answer's fields from responses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg

from domain.errors import NotFound
from domain.followups import (
    Case,
    CaseChange,
    CaseFilter,
    CaseTimes,
    Note,
    Recovery,
    Settings,
    Status,
)
from domain.model import Page
from domain.nps import Category
from domain.webhook_payloads import followup_event
from domain.webhooks import EventType
from infra.postgres.cursor import after_key, keyset_page
from infra.postgres.customers import touch_customers
from infra.postgres.webhooks_outbox import enqueue_events

UPDATED, OVERDUE = EventType.FOLLOWUP_UPDATED, EventType.FOLLOWUP_OVERDUE

_SELECT = """
SELECT f.id, f.response_id, r.survey_id, r.customer_id, r.score, r.comment, r.segments,
       f.status, f.owner, f.due_at, f.first_contact_at, f.closed_at, f.resolution,
       f.created_at, f.updated_at
FROM followups f JOIN responses r ON r.tenant_id = f.tenant_id AND r.id = f.response_id
"""
# $1 tenant, $2 status, $3 owner, $4 overdue at, $5 survey, $6 segments (jsonb containment)
_FILTER = """
f.tenant_id = $1 AND ($2::text IS NULL OR f.status = $2) AND ($3::text IS NULL OR f.owner = $3)
AND ($4::timestamptz IS NULL OR (f.status <> 'closed' AND f.due_at < $4))
AND ($5::uuid IS NULL OR r.survey_id = $5) AND r.segments @> $6::jsonb
"""
# A reopened case gets a fresh deadline and may become overdue (and be announced) again.
_UPDATE = """
UPDATE followups f SET owner = $3, status = $4::text, first_contact_at = $5, closed_at = $6,
    resolution = $7, updated_at = $8,
    due_at = CASE WHEN f.status = 'closed' AND $4 = 'open'
                  THEN $8::timestamptz + make_interval(hours => t.followup_sla_hours)
                  ELSE f.due_at END,
    overdue_notified_at = CASE WHEN f.status = 'closed' AND $4 = 'open'
                               THEN NULL ELSE f.overdue_notified_at END
FROM tenants t
WHERE f.tenant_id = $1 AND f.id = $2 AND t.id = f.tenant_id
"""
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
    WHERE {_FILTER} AND f.status = 'closed' AND r.customer_id IS NOT NULL
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
       count(*) FILTER (WHERE score >= 9) AS promoters,
       count(*) FILTER (WHERE score BETWEEN 7 AND 8) AS passives,
       count(*) FILTER (WHERE score <= 6) AS detractors
FROM next
"""


def _columns(change: CaseChange) -> tuple[object, ...]:
    return (
        change.owner,
        change.status.value,
        change.first_contact_at,
        change.closed_at,
        change.resolution,
    )


async def announce_overdue(pool: asyncpg.Pool, *, now: datetime, limit: int = 200) -> int:
    """Mark cases that passed their due time and queue one followup.overdue event each."""
    async with pool.acquire() as conn, conn.transaction():
        due = await conn.fetch(_CLAIM_OVERDUE, now, limit)
        events = [
            followup_event(OVERDUE, r["tenant_id"], await fetch_case(conn, *r), now) for r in due
        ]
        await enqueue_events(conn, events)
    return len(due)


def _args(flt: CaseFilter) -> list[object]:
    status = flt.status.value if flt.status else None
    return [flt.tenant_id, status, flt.owner, flt.overdue_at, flt.survey_id, flt.segments]


def _case(row: asyncpg.Record, notes: list[Note]) -> Case:
    return Case(
        id=row["id"],
        response_id=row["response_id"],
        survey_id=row["survey_id"],
        customer_id=row["customer_id"],
        score=row["score"],
        comment=row["comment"],
        segments=row["segments"],
        status=Status(row["status"]),
        owner=row["owner"],
        due_at=row["due_at"],
        first_contact_at=row["first_contact_at"],
        closed_at=row["closed_at"],
        resolution=row["resolution"],
        notes=notes,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _notes(conn: asyncpg.Connection, tenant_id: UUID, ids: list[UUID]) -> dict[UUID, list]:
    rows = await conn.fetch(
        "SELECT followup_id, id, author, text, created_at FROM followup_notes"
        " WHERE tenant_id = $1 AND followup_id = ANY($2::uuid[]) ORDER BY created_at, id",
        tenant_id,
        ids,
    )
    out: dict[UUID, list[Note]] = {i: [] for i in ids}
    for r in rows:
        out[r["followup_id"]].append(
            Note(id=r["id"], author=r["author"], text=r["text"], created_at=r["created_at"])
        )
    return out


async def fetch_case(conn: asyncpg.Connection, tenant_id: UUID, case_id: UUID) -> Case:
    row = await conn.fetchrow(f"{_SELECT} WHERE f.tenant_id = $1 AND f.id = $2", tenant_id, case_id)
    if row is None:
        raise NotFound("follow-up case not found")
    return _case(row, (await _notes(conn, tenant_id, [case_id]))[case_id])


class PgFollowupRepository:
    def __init__(self, pool: asyncpg.Pool, *, on_events: Callable[[], None] | None = None) -> None:
        self._pool = pool
        self._on_events = on_events  # wakes the webhook relay after a commit with events

    def _notify(self) -> None:
        if self._on_events is not None:
            self._on_events()

    async def get(self, *, tenant_id: UUID, case_id: UUID) -> Case:
        async with self._pool.acquire() as conn:
            return await fetch_case(conn, tenant_id, case_id)

    async def list(self, flt: CaseFilter, *, limit: int, cursor: str | None) -> Page[Case]:
        """Newest first by (created_at, id)."""
        after_at, after_id = after_key(cursor, tuple[datetime, UUID])
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"{_SELECT} WHERE {_FILTER}"
                " AND ($7::timestamptz IS NULL OR (f.created_at, f.id) < ($7, $8))"
                " ORDER BY f.created_at DESC, f.id DESC LIMIT $9",
                *_args(flt),
                after_at,
                after_id,
                limit + 1,
            )
            notes = await _notes(conn, flt.tenant_id, [r["id"] for r in rows[:limit]])
        cases = [_case(r, notes.get(r["id"], [])) for r in rows]
        return keyset_page(cases, limit, lambda c: (c.created_at, c.id))

    async def update(
        self,
        *,
        tenant_id: UUID,
        case_id: UUID,
        decide: Callable[[Case], CaseChange],
        now: datetime,
    ) -> Case:
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await conn.fetchval(
                "SELECT id FROM followups WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                tenant_id,
                case_id,
            )
            if locked is None:
                raise NotFound("follow-up case not found")
            change = decide(await fetch_case(conn, tenant_id, case_id))
            await conn.execute(_UPDATE, tenant_id, case_id, *_columns(change), now)
            case = await fetch_case(conn, tenant_id, case_id)
            await enqueue_events(conn, [followup_event(UPDATED, tenant_id, case, now)])
            if case.customer_id is not None:  # the CRM's open_followups changed; last: locks
                await touch_customers(conn, tenant_id, [case.customer_id])
        self._notify()
        return case

    async def add_note(
        self, *, tenant_id: UUID, case_id: UUID, author: str, text: str, now: datetime
    ) -> Note:
        note = Note(id=uuid4(), author=author, text=text, created_at=now)
        async with self._pool.acquire() as conn, conn.transaction():
            found = await conn.fetchval(
                "UPDATE followups SET updated_at = $3 WHERE tenant_id = $1 AND id = $2"
                " RETURNING id",
                tenant_id,
                case_id,
                now,
            )
            if found is None:
                raise NotFound("follow-up case not found")
            await conn.execute(
                "INSERT INTO followup_notes (tenant_id, id, followup_id, author, text, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                tenant_id,
                note.id,
                case_id,
                author,
                text,
                now,
            )
            case = await fetch_case(conn, tenant_id, case_id)
            await enqueue_events(conn, [followup_event(UPDATED, tenant_id, case, now)])
        self._notify()
        return note

    async def stats(
        self, flt: CaseFilter, *, start: datetime, end: datetime, now: datetime
    ) -> tuple[list[CaseTimes], Recovery]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT f.status, f.due_at, f.created_at, f.first_contact_at, f.closed_at"
                f" FROM followups f JOIN responses r"
                " ON r.tenant_id = f.tenant_id AND r.id = f.response_id"
                f" WHERE {_FILTER} AND f.created_at >= $7 AND f.created_at < $8",
                *_args(flt),
                start,
                end,
            )
            rec = await conn.fetchrow(_RECOVERY, *_args(flt), start, end)
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

    async def settings(self, *, tenant_id: UUID) -> Settings:
        row = await self._pool.fetchrow(
            "SELECT followup_categories, followup_sla_hours FROM tenants WHERE id = $1", tenant_id
        )
        if row is None:
            raise NotFound("tenant not found")
        return _settings(row)

    async def update_settings(
        self,
        *,
        tenant_id: UUID,
        categories: Sequence[Category] | None,
        sla_hours: int | None,
        now: datetime,
    ) -> Settings:
        row = await self._pool.fetchrow(
            "UPDATE tenants SET followup_categories = coalesce($2, followup_categories),"
            " followup_sla_hours = coalesce($3, followup_sla_hours), settings_updated_at = $4"
            " WHERE id = $1 RETURNING followup_categories, followup_sla_hours",
            tenant_id,
            None if categories is None else [c.value for c in categories],
            sla_hours,
            now,
        )
        if row is None:
            raise NotFound("tenant not found")
        return _settings(row)


def _settings(row: asyncpg.Record) -> Settings:
    order = list(Category)
    categories = sorted((Category(c) for c in row["followup_categories"]), key=order.index)
    return Settings(
        followup_categories=tuple(categories), followup_sla_hours=row["followup_sla_hours"]
    )
