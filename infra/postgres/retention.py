"""Personal-data retention's SQL: answers older than a tenant's `retention_months` are
anonymised (the job that runs it once a day is infra/retention.py).

Each tenant is done in one transaction that first takes a transaction-level advisory lock
without waiting (safe behind a transaction-pooling PgBouncer, unlike a session lock) and
then re-reads `retention_applied_on`, which the holder sets before it commits. The
redaction itself is erasure's (`forget_answers`); an audit entry `retention.applied` with
the counts records each run that changed anything.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID, uuid4

import asyncpg

from infra.postgres.customers import forget_answers
from infra.postgres.pool import without_statement_timeout

_DUE = """
SELECT id FROM tenants
WHERE retention_months IS NOT NULL
  AND (retention_applied_on IS NULL OR retention_applied_on < $1)
ORDER BY id
"""
_LOCK = "SELECT pg_try_advisory_xact_lock(hashtextextended('nps-retention:' || $1::uuid::text, 17))"
_CLAIM = """
SELECT retention_months, $3::timestamptz - make_interval(months => retention_months) AS cutoff
FROM tenants
WHERE id = $1 AND retention_months IS NOT NULL
  AND (retention_applied_on IS NULL OR retention_applied_on < $2)
"""
_AUDIT = """
INSERT INTO audit_log (tenant_id, id, action, actor_key_id, details, created_at)
VALUES ($1, $2, 'retention.applied', NULL, $3, $4)
"""


class PgRetention:
    """Retention's statements on a unit of work's connection (infra/retention.py runs them)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def due(self, *, today: date) -> list[UUID]:
        """The tenants whose retention has not run today (across tenants)."""
        return [r["id"] for r in await self._conn.fetch(_DUE, today)]

    async def apply(self, tenant_id: UUID, *, now: datetime) -> int | None:
        """Anonymise one tenant's answers past its retention, in the caller's transaction;
        None when another process holds it or it was done today, else the number of
        answers anonymised."""
        conn, today = self._conn, now.date()
        await without_statement_timeout(conn)  # the first run may touch many rows
        if not await conn.fetchval(_LOCK, tenant_id):
            return None
        claim = await conn.fetchrow(_CLAIM, tenant_id, today, now)
        if claim is None:
            return None
        forgotten = await forget_answers(
            conn,
            tenant_id,
            "answered_at < $2 AND (customer_id IS NOT NULL OR comment IS NOT NULL)",
            claim["cutoff"],
        )
        if forgotten.answers:
            details = {
                "retention_months": claim["retention_months"],
                "answered_before": claim["cutoff"].isoformat(),
                "answers_anonymised": forgotten.answers,
                "notes_redacted": forgotten.notes,
                "webhook_events_redacted": forgotten.webhook_events,
            }
            await conn.execute(_AUDIT, tenant_id, uuid4(), details, now)
        await conn.execute(
            "UPDATE tenants SET retention_applied_on = $2 WHERE id = $1", tenant_id, today
        )
        return forgotten.answers
