"""Personal-data retention: answers older than a tenant's `retention_months` are anonymised.

Once a day per tenant, by one process at a time whatever the number of API processes: each
tenant is done in one transaction that first takes a transaction-level advisory lock
without waiting (safe behind a transaction-pooling PgBouncer, unlike a session lock) and
then re-reads `retention_applied_on`, which the holder sets before it commits. The
redaction itself is erasure's (`forget_answers`); an audit entry `retention.applied` with
the counts records each run that changed anything.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
import structlog

from infra.postgres.customers import forget_answers
from infra.postgres.pool import without_statement_timeout

log = structlog.get_logger(__name__)
CHECK_EVERY_S = 3600.0  # a tenant is due once a day; this is how soon after midnight

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


async def apply_tenant(pool: asyncpg.Pool, tenant_id: UUID, *, now: datetime) -> int | None:
    """Anonymise one tenant's answers past its retention; None when another process holds
    it or it was done today, else the number of answers anonymised."""
    today = now.date()
    async with pool.acquire() as conn, conn.transaction():
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


async def apply_retention(pool: asyncpg.Pool, *, now: datetime) -> dict[UUID, int]:
    """Every tenant due today; returns the answers anonymised per tenant done here."""
    done: dict[UUID, int] = {}
    for row in await pool.fetch(_DUE, now.date()):
        try:
            count = await apply_tenant(pool, row["id"], now=now)
        except Exception as exc:  # the next round tries again
            log.warning("retention_failed", tenant_id=str(row["id"]), error=type(exc).__name__)
            continue
        if count is not None:
            done[row["id"]] = count
            if count:
                log.info("retention_applied", tenant_id=str(row["id"]), answers=count)
    return done


async def run_retention(
    pool: asyncpg.Pool, *, every_s: float = CHECK_EVERY_S, first_after_s: float = 60.0
) -> None:
    """Loop until cancelled: apply retention to the tenants due today, every hour; the
    first round a minute after start, out of the way of start-up (and short-lived apps)."""
    await asyncio.sleep(first_after_s)
    while True:
        try:
            await apply_retention(pool, now=datetime.now(UTC))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # PostgreSQL away: the next round tries again
            log.warning("retention_round_failed", error=type(exc).__name__)
        await asyncio.sleep(every_s)
