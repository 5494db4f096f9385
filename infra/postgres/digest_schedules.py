"""Where a tenant's digest schedule is kept (the scheduler reads it in infra.digest_scheduler)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from domain.digest import DigestPeriod, DigestSchedule

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
    """Implements domain.digest.DigestScheduleRepository."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get(self, *, tenant_id: UUID) -> DigestSchedule:
        return schedule_of(await self._pool.fetchrow(_GET, tenant_id))

    async def put(
        self, *, tenant_id: UUID, schedule: DigestSchedule, now: datetime
    ) -> DigestSchedule:
        row = await self._pool.fetchrow(
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
