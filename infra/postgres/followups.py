"""Follow-up cases and their notes; a case reads its answer's fields from responses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg
import msgspec

from domain.errors import NotFound
from domain.followups import (
    Case,
    CaseChange,
    CaseFilter,
    CaseTimes,
    Note,
    Recovery,
    Settings,
)
from domain.model import Page
from domain.nps import Category
from domain.webhook_payloads import followup_event
from domain.webhooks import EventType
from infra.postgres.cursor import after_key, keyset_page
from infra.postgres.customers import restamp_customers
from infra.postgres.followup_reports import case_stats_rows
from infra.postgres.followup_rows import (
    CASE_FILTER,
    SELECT_CASE,
    case_filter_args,
    case_from_row,
    fetch_case,
    fetch_notes,
)
from infra.postgres.webhooks_outbox import enqueue_events

UPDATED = EventType.FOLLOWUP_UPDATED

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


def _columns(change: CaseChange) -> tuple[object, ...]:
    return (
        change.owner,
        change.status.value,
        change.first_contact_at,
        change.closed_at,
        change.resolution,
    )


class PgFollowupRepository:
    """Runs on the unit of work's connection, inside its transaction.

    `events_queued` tells the unit of work that webhook events were written (it wakes the
    relay once the transaction has committed).
    """

    def __init__(self, conn: asyncpg.Connection, *, events_queued: Callable[[], None]) -> None:
        self._conn = conn
        self._events_queued = events_queued

    async def get(self, *, tenant_id: UUID, case_id: UUID, lock: bool = False) -> Case:
        return await fetch_case(self._conn, tenant_id, case_id, lock=lock)

    async def list(self, flt: CaseFilter, *, limit: int, cursor: str | None) -> Page[Case]:
        """Newest first by (created_at, id)."""
        after_at, after_id = after_key(cursor, tuple[datetime, UUID])
        rows = await self._conn.fetch(
            f"{SELECT_CASE} WHERE {CASE_FILTER}"
            " AND ($7::timestamptz IS NULL OR (f.created_at, f.id) < ($7, $8))"
            " ORDER BY f.created_at DESC, f.id DESC LIMIT $9",
            *case_filter_args(flt),
            after_at,
            after_id,
            limit + 1,
        )
        notes = await fetch_notes(self._conn, flt.tenant_id, [r["id"] for r in rows[:limit]])
        cases = [case_from_row(r, notes.get(r["id"], [])) for r in rows]
        return keyset_page(cases, limit, lambda c: (c.created_at, c.id))

    async def update(
        self, *, tenant_id: UUID, case_id: UUID, change: CaseChange, now: datetime
    ) -> Case:
        conn = self._conn
        await conn.execute(_UPDATE, tenant_id, case_id, *_columns(change), now)
        case = await fetch_case(conn, tenant_id, case_id)
        await self._changed(tenant_id, case, now)
        return case

    async def add_note(
        self, *, tenant_id: UUID, case_id: UUID, author: str, text: str, now: datetime
    ) -> Note:
        note = Note(id=uuid4(), author=author, text=text, created_at=now)
        conn = self._conn
        found = await conn.fetchval(
            "UPDATE followups SET updated_at = $3 WHERE tenant_id = $1 AND id = $2 RETURNING id",
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
        await self._changed(tenant_id, await fetch_case(conn, tenant_id, case_id), now)
        return note

    async def _changed(self, tenant_id: UUID, case: Case, now: datetime) -> None:
        """Queue followup.updated; the CRM's open_followups changed (last: it locks)."""
        await enqueue_events(self._conn, [followup_event(UPDATED, tenant_id, case, now)])
        self._events_queued()
        if case.customer_id is not None:
            await restamp_customers(self._conn, tenant_id, [case.customer_id])

    async def stats(
        self, flt: CaseFilter, *, start: datetime, end: datetime, now: datetime
    ) -> tuple[list[CaseTimes], Recovery]:
        return await case_stats_rows(self._conn, flt, start=start, end=end, now=now)

    async def settings(self, *, tenant_id: UUID) -> Settings:
        row = await self._conn.fetchrow(
            "SELECT followup_categories, followup_sla_hours, retention_months FROM tenants"
            " WHERE id = $1",
            tenant_id,
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
        retention_months: int | msgspec.UnsetType | None = msgspec.UNSET,
    ) -> Settings:
        row = await self._conn.fetchrow(
            "UPDATE tenants SET followup_categories = coalesce($2, followup_categories),"
            " followup_sla_hours = coalesce($3, followup_sla_hours), settings_updated_at = $4,"
            " retention_months = CASE WHEN $5 THEN $6 ELSE retention_months END"
            " WHERE id = $1 RETURNING followup_categories, followup_sla_hours, retention_months",
            tenant_id,
            None if categories is None else [c.value for c in categories],
            sla_hours,
            now,
            retention_months is not msgspec.UNSET,
            None if retention_months is msgspec.UNSET else retention_months,
        )
        if row is None:
            raise NotFound("tenant not found")
        return _settings(row)


def _settings(row: asyncpg.Record) -> Settings:
    order = list(Category)
    categories = sorted((Category(c) for c in row["followup_categories"]), key=order.index)
    return Settings(
        followup_categories=tuple(categories),
        followup_sla_hours=row["followup_sla_hours"],
        retention_months=row["retention_months"],
    )
