"""Sends each scheduled huddle digest once per period as a `digest.ready` webhook event.

Every API process that runs a webhook relay runs this loop. A period's digest is claimed by
inserting its digest_sends row, and queued in the same transaction, under a transaction
advisory lock that a second process tries without waiting: while one process builds the
digest the others pass it by, and once it has committed they find the row. So exactly one
event is written per (tenant, period), and a process dying half way leaves nothing claimed
(the next minute's check sends it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from domain.digest import DigestPeriod, DigestSchedule, due_digest
from domain.webhooks import EventType, WebhookEvent
from infra.postgres.digest_schedules import schedule_of
from infra.postgres.webhooks_outbox import enqueue_events

log = structlog.get_logger(__name__)

Render = Callable[[UUID, str, DigestPeriod, date, list[str], datetime], Awaitable[dict[str, Any]]]
INTERVAL_S = 60.0

_SCHEDULED = """
SELECT s.tenant_id, s.enabled, s.period, s.weekday, s.hour, s.dimensions, s.enabled_at,
       t.timezone
FROM digest_schedules s JOIN tenants t ON t.id = s.tenant_id
WHERE s.enabled
"""
_SENT = "SELECT true FROM digest_sends WHERE tenant_id = $1 AND period = $2 AND period_start = $3"
# The advisory lock is taken without waiting: a process that finds another one building the
# same digest moves on instead of queueing behind it (the winner commits or rolls back).
_LOCK = "SELECT pg_try_advisory_xact_lock(hashtextextended($1::uuid || $2::text || $3::date, 14))"
_CLAIM = """
INSERT INTO digest_sends (tenant_id, period, period_start, sent_at) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING RETURNING true
"""


class DigestScheduler:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        render: Render,
        on_enqueued: Callable[[], None] = lambda: None,
        interval_s: float = INTERVAL_S,
    ) -> None:
        self._pool = pool
        self._render = render
        self._on_enqueued = on_enqueued
        self._interval_s = interval_s

    async def run_once(self, now: datetime) -> int:
        """Queue every digest due at `now` that no process has sent; returns how many."""
        sent = 0
        for row in await self._pool.fetch(_SCHEDULED):
            schedule = schedule_of(row)
            due = due_digest(schedule, now, row["timezone"])
            if due is None:
                continue
            key = (row["tenant_id"], schedule.period.value, due[0])
            if await self._pool.fetchval(_SENT, *key):
                continue
            try:
                sent += await self._send(key, schedule, row["timezone"], now)
            except Exception as exc:  # one tenant's failure must not stop the others
                log.warning("digest_failed", tenant_id=str(key[0]), error=type(exc).__name__)
        if sent:
            self._on_enqueued()
        return sent

    async def _send(
        self, key: tuple[UUID, str, date], schedule: DigestSchedule, timezone: str, now: datetime
    ) -> int:
        tenant_id, period, start = key
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(_LOCK, tenant_id, period, start):
                return 0
            if not await conn.fetchval(_CLAIM, tenant_id, period, start, now):
                return 0
            data = await self._render(
                tenant_id, timezone, schedule.period, start, list(schedule.dimensions), now
            )
            event = WebhookEvent(
                tenant_id=tenant_id, type=EventType.DIGEST_READY, data=data, created_at=now
            )
            await enqueue_events(conn, [event])
        log.info("digest_sent", tenant_id=str(tenant_id), period=period, start=str(start))
        return 1

    async def run(self, clock: Callable[[], datetime]) -> None:
        """Check once a minute until cancelled."""
        while True:
            try:
                await self.run_once(clock())
            except Exception as exc:  # PostgreSQL away: try again next time
                log.warning("digest_scheduler_failed", error=type(exc).__name__)
            await asyncio.sleep(self._interval_s)
