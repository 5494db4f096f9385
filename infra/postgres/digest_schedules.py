"""Digest schedules and the record of each period's send, on a unit of work's connection."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from uuid import UUID

import asyncpg

from domain.digest import DigestPeriod, DigestSchedule, DueDigest, ScheduledDigest
from domain.webhooks import WebhookEvent
from infra.postgres.webhooks_outbox import enqueue_events

_GET = """
SELECT enabled, period, weekday, hour, dimensions, enabled_at FROM digest_schedules
WHERE tenant_id = $1
"""
# enabled_at moves only when the schedule is switched on, so a digest whose send moment
# passed before that is never sent late; changing the hour or dimensions keeps it.
_PUT = """
INSERT INTO digest_schedules AS s
    (tenant_id, enabled, period, weekday, hour, dimensions, enabled_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $2 THEN $7::timestamptz END, $7)
ON CONFLICT (tenant_id) DO UPDATE SET
    enabled = EXCLUDED.enabled, period = EXCLUDED.period, weekday = EXCLUDED.weekday,
    hour = EXCLUDED.hour, dimensions = EXCLUDED.dimensions, updated_at = EXCLUDED.updated_at,
    enabled_at = CASE WHEN EXCLUDED.enabled AND NOT s.enabled THEN EXCLUDED.updated_at
                      WHEN EXCLUDED.enabled THEN s.enabled_at END
RETURNING enabled, period, weekday, hour, dimensions, enabled_at
"""
_SCHEDULED = """
SELECT s.tenant_id, s.enabled, s.period, s.weekday, s.hour, s.dimensions, s.enabled_at,
       t.timezone
FROM digest_schedules s JOIN tenants t ON t.id = s.tenant_id
WHERE s.enabled
"""
_SENT = """
SELECT d.tenant_id, d.period, d.period_start
FROM unnest($1::uuid[], $2::text[], $3::date[]) AS k(tenant_id, period, period_start)
JOIN digest_sends d USING (tenant_id, period, period_start)
"""
# The advisory lock is taken without waiting: a process that finds another one claiming the
# same digest moves on instead of queueing behind it (the winner commits or rolls back).
_LOCK = "SELECT pg_try_advisory_xact_lock(hashtextextended($1::uuid || $2::text || $3::date, 14))"
_CLAIM = """
INSERT INTO digest_sends (tenant_id, period, period_start, sent_at) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING RETURNING true
"""


def schedule_of(row: asyncpg.Record | None) -> DigestSchedule:
    if row is None:
        return DigestSchedule()
    return DigestSchedule(
        enabled=row["enabled"],
        period=DigestPeriod(row["period"]),
        weekday=row["weekday"],
        hour=row["hour"],
        dimensions=tuple(row["dimensions"]),
        enabled_at=row["enabled_at"],
    )


class PgDigestScheduleRepository:
    """Implements domain.ports.DigestScheduleRepository.

    `events_queued` tells the unit of work that a claim queued its event (it wakes the
    webhook relay after the commit)."""

    def __init__(
        self, conn: asyncpg.Connection, *, events_queued: Callable[[], None] = lambda: None
    ) -> None:
        self._conn = conn
        self._events_queued = events_queued

    async def get(self, *, tenant_id: UUID) -> DigestSchedule:
        return schedule_of(await self._conn.fetchrow(_GET, tenant_id))

    async def put(
        self, *, tenant_id: UUID, schedule: DigestSchedule, now: datetime
    ) -> DigestSchedule:
        row = await self._conn.fetchrow(
            _PUT,
            tenant_id,
            schedule.enabled,
            schedule.period.value,
            schedule.weekday,
            schedule.hour,
            list(schedule.dimensions),
            now,
        )
        return schedule_of(row)

    async def scheduled(self) -> list[ScheduledDigest]:
        return [
            ScheduledDigest(
                tenant_id=r["tenant_id"], timezone=r["timezone"], schedule=schedule_of(r)
            )
            for r in await self._conn.fetch(_SCHEDULED)
        ]

    async def sent(self, due: Sequence[DueDigest]) -> set[tuple[UUID, DigestPeriod, date]]:
        rows = await self._conn.fetch(
            _SENT,
            [d.tenant_id for d in due],
            [d.schedule.period.value for d in due],
            [d.start for d in due],
        )
        return {(r[0], DigestPeriod(r[1]), r[2]) for r in rows}

    async def claim(self, due: DueDigest, *, event: WebhookEvent, now: datetime) -> bool:
        key = (due.tenant_id, due.schedule.period.value, due.start)
        if not await self._conn.fetchval(_LOCK, *key):
            return False
        if not await self._conn.fetchval(_CLAIM, *key, now):
            return False
        await enqueue_events(self._conn, [event])
        self._events_queued()
        return True
