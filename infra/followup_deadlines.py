"""The follow-up deadline sweep: queues followup.overdue once per case past its due time.

Runs in every API process. Each round is one unit of work across tenants (`uow()`): its
claim skips cases another process holds (`FOR UPDATE SKIP LOCKED`) and stamps
`overdue_notified_at` in the transaction that queues their events.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog

from infra.postgres.uow import PgUnitOfWorkFactory
from infra.webhooks.relay import WebhookRelay

log = structlog.get_logger(__name__)


async def announce_overdue(uow: PgUnitOfWorkFactory, *, now: datetime, limit: int = 200) -> int:
    """Mark cases that passed their due time and queue one followup.overdue event each."""
    async with uow() as tx:
        return await tx.overdue.announce(now=now, limit=limit)


async def announce_overdue_followups(
    uow: PgUnitOfWorkFactory, relay: WebhookRelay, *, every_s: float = 30.0
) -> None:
    """Queue followup.overdue for cases past their due time, twice a minute."""
    while True:
        try:
            if await announce_overdue(uow, now=datetime.now(UTC)):
                relay.notify()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the next round tries again
            log.warning("overdue_scan_failed", error=type(exc).__name__)
        await asyncio.sleep(every_s)
