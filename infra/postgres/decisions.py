"""Changes and targets in PostgreSQL, on a unit of work's connection; and the short-lived
cache of each tenant's targets, which every result reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from uuid import UUID

import asyncpg

from domain.decisions import ChangeRecord, Target
from domain.errors import NotFound
from domain.model import Page, SegmentFilter
from infra.postgres.cursor import after_key, keyset_page

_CHANGE = (
    "id, tenant_id, title, description, effective_on, survey_id, segment_dimension,"
    " segment_value, created_at, updated_at"
)
_TARGET = "id, tenant_id, survey_id, segment_dimension, segment_value, nps, created_at, updated_at"
TARGETS_TTL_S = 2.0


def _segment(row: asyncpg.Record) -> SegmentFilter | None:
    if row["segment_dimension"] is None:
        return None
    return SegmentFilter(dimension=row["segment_dimension"], value=row["segment_value"])


def _change(row: asyncpg.Record) -> ChangeRecord:
    return ChangeRecord(
        id=row["id"],
        tenant_id=row["tenant_id"],
        title=row["title"],
        description=row["description"],
        effective_on=row["effective_on"],
        survey_id=row["survey_id"],
        segment=_segment(row),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _target(row: asyncpg.Record) -> Target:
    return Target(
        id=row["id"],
        tenant_id=row["tenant_id"],
        survey_id=row["survey_id"],
        segment=_segment(row),
        nps=row["nps"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class PgChangeRepository:
    """Implements domain.ports.ChangeRepository."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, change: ChangeRecord) -> None:
        seg = change.segment
        await self._conn.execute(
            f"INSERT INTO changes ({_CHANGE}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            change.id,
            change.tenant_id,
            change.title,
            change.description,
            change.effective_on,
            change.survey_id,
            seg.dimension if seg else None,
            seg.value if seg else None,
            change.created_at,
            change.updated_at,
        )

    async def get(self, *, tenant_id: UUID, change_id: UUID) -> ChangeRecord:
        row = await self._conn.fetchrow(
            f"SELECT {_CHANGE} FROM changes WHERE tenant_id = $1 AND id = $2", tenant_id, change_id
        )
        if row is None:
            raise NotFound("change not found")
        return _change(row)

    async def save(self, change: ChangeRecord) -> None:
        seg = change.segment
        await self._conn.execute(
            "UPDATE changes SET title = $3, description = $4, effective_on = $5, survey_id = $6,"
            " segment_dimension = $7, segment_value = $8, updated_at = $9"
            " WHERE tenant_id = $1 AND id = $2",
            change.tenant_id,
            change.id,
            change.title,
            change.description,
            change.effective_on,
            change.survey_id,
            seg.dimension if seg else None,
            seg.value if seg else None,
            change.updated_at,
        )

    async def delete(self, *, tenant_id: UUID, change_id: UUID) -> None:
        status = await self._conn.execute(
            "DELETE FROM changes WHERE tenant_id = $1 AND id = $2", tenant_id, change_id
        )
        if status.endswith(" 0"):
            raise NotFound("change not found")

    async def list(
        self, *, tenant_id: UUID, start: date | None, end: date | None, survey_id: UUID | None
    ) -> list[ChangeRecord]:
        rows = await self._conn.fetch(
            f"SELECT {_CHANGE} FROM changes WHERE tenant_id = $1"
            " AND ($2::date IS NULL OR effective_on >= $2)"
            " AND ($3::date IS NULL OR effective_on <= $3)"
            " AND ($4::uuid IS NULL OR survey_id = $4)"
            " ORDER BY effective_on, id LIMIT 1000",
            tenant_id,
            start,
            end,
            survey_id,
        )
        return [_change(r) for r in rows]

    async def page(
        self,
        *,
        tenant_id: UUID,
        start: date | None,
        end: date | None,
        survey_id: UUID | None,
        limit: int,
        cursor: str | None,
    ) -> Page[ChangeRecord]:
        after_on, after_id = after_key(cursor, tuple[date, UUID])
        rows = await self._conn.fetch(
            f"SELECT {_CHANGE} FROM changes WHERE tenant_id = $1"
            " AND ($2::date IS NULL OR effective_on >= $2)"
            " AND ($3::date IS NULL OR effective_on <= $3)"
            " AND ($4::uuid IS NULL OR survey_id = $4)"
            " AND ($5::date IS NULL OR (effective_on, id) > ($5, $6))"
            " ORDER BY effective_on, id LIMIT $7",
            tenant_id,
            start,
            end,
            survey_id,
            after_on,
            after_id,
            limit + 1,
        )
        changes = [_change(r) for r in rows]
        return keyset_page(changes, limit, lambda c: (c.effective_on, c.id))


class TargetCache:
    """Implements domain.ports.TargetCache: per process, each tenant's targets for
    TARGETS_TTL_S seconds. A write through this process drops the tenant's entry (the
    use-cases do, after commit); other processes see it when their entry expires."""

    def __init__(
        self, *, ttl_s: float = TARGETS_TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[UUID, tuple[float, list[Target]]] = {}

    def get(self, tenant_id: UUID) -> list[Target] | None:
        found = self._entries.get(tenant_id)
        if found is None or found[0] <= self._clock():
            return None
        return found[1]

    def put(self, tenant_id: UUID, targets: list[Target]) -> None:
        self._entries[tenant_id] = (self._clock() + self._ttl_s, targets)

    def drop(self, tenant_id: UUID) -> None:
        self._entries.pop(tenant_id, None)


class PgTargetRepository:
    """Implements domain.ports.TargetRepository."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def upsert(self, target: Target) -> Target:
        seg = target.segment
        row = await self._conn.fetchrow(
            f"INSERT INTO targets ({_TARGET}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (tenant_id,"
            "  (coalesce(survey_id, '00000000-0000-0000-0000-000000000000'::uuid)),"
            "  (coalesce(segment_dimension, '')), (coalesce(segment_value, '')))"
            " DO UPDATE SET nps = EXCLUDED.nps, updated_at = EXCLUDED.updated_at"
            f" RETURNING {_TARGET}",
            target.id,
            target.tenant_id,
            target.survey_id,
            seg.dimension if seg else None,
            seg.value if seg else None,
            target.nps,
            target.created_at,
            target.updated_at,
        )
        return _target(row)

    async def list(self, *, tenant_id: UUID) -> list[Target]:
        rows = await self._conn.fetch(
            f"SELECT {_TARGET} FROM targets WHERE tenant_id = $1 ORDER BY created_at, id",
            tenant_id,
        )
        return [_target(r) for r in rows]

    async def page(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[Target]:
        after_at, after_id = after_key(cursor, tuple[datetime, UUID])
        rows = await self._conn.fetch(
            f"SELECT {_TARGET} FROM targets WHERE tenant_id = $1"
            " AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3))"
            " ORDER BY created_at, id LIMIT $4",
            tenant_id,
            after_at,
            after_id,
            limit + 1,
        )
        return keyset_page([_target(r) for r in rows], limit, lambda t: (t.created_at, t.id))

    async def delete(self, *, tenant_id: UUID, target_id: UUID) -> None:
        status = await self._conn.execute(
            "DELETE FROM targets WHERE tenant_id = $1 AND id = $2", tenant_id, target_id
        )
        if status.endswith(" 0"):
            raise NotFound("target not found")
