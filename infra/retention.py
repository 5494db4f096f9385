"""Personal-data retention, once a day per tenant, by one process at a time.

Every API process runs it: the tenants due are listed in a unit of work across tenants
(`uow()`), then each tenant is done in its own unit of work (`uow(tenant_id)`), whose
transaction holds the tenant's advisory lock (see infra/postgres/retention.py).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID

import structlog

from infra.postgres.uow import PgUnitOfWorkFactory

log = structlog.get_logger(__name__)
CHECK_EVERY_S = 3600.0  # a tenant is due once a day; this is how soon after midnight


async def apply_tenant(uow: PgUnitOfWorkFactory, tenant_id: UUID, *, now: datetime) -> int | None:
    """Anonymise one tenant's answers past its retention; None when another process holds
    it or it was done today, else the number of answers anonymised."""
    async with uow(tenant_id) as tx:
        return await tx.retention.apply(tenant_id, now=now)


async def apply_retention(uow: PgUnitOfWorkFactory, *, now: datetime) -> dict[UUID, int]:
    """Every tenant due today; returns the answers anonymised per tenant done here."""
    async with uow() as tx:
        due = await tx.retention.due(today=now.date())
    done: dict[UUID, int] = {}
    for tenant_id in due:
        try:
            count = await apply_tenant(uow, tenant_id, now=now)
        except Exception as exc:  # the next round tries again
            log.warning("retention_failed", tenant_id=str(tenant_id), error=type(exc).__name__)
            continue
        if count is not None:
            done[tenant_id] = count
            if count:
                log.info("retention_applied", tenant_id=str(tenant_id), answers=count)
    return done


async def run_retention(
    uow: PgUnitOfWorkFactory, *, every_s: float = CHECK_EVERY_S, first_after_s: float = 60.0
) -> None:
    """Loop until cancelled: apply retention to the tenants due today, every hour; the
    first round a minute after start, out of the way of start-up (and short-lived apps)."""
    await asyncio.sleep(first_after_s)
    while True:
        try:
            await apply_retention(uow, now=datetime.now(UTC))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # PostgreSQL away: the next round tries again
            log.warning("retention_round_failed", error=type(exc).__name__)
        await asyncio.sleep(every_s)
