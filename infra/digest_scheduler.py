"""Sends each scheduled huddle digest once per period as a `digest.ready` webhook event.

Every API process that runs a webhook relay runs this loop. A due digest is rendered
outside any transaction (`domain.digest.send_digest`); then its period is claimed by
inserting its digest_sends row, and its event queued in the same transaction, under a
transaction advisory lock that a second process tries without waiting: so exactly one
event is written per (tenant, period), and a process dying half way leaves nothing claimed
(the next minute's check sends it). Processes that render the same digest at the same
moment all render it; only one claim wins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import structlog

from domain.digest import RenderDigest, digests_due, send_digest
from domain.ports import UnitOfWorkFactory

log = structlog.get_logger(__name__)

INTERVAL_S = 60.0


class DigestScheduler:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        *,
        render: RenderDigest,
        interval_s: float = INTERVAL_S,
    ) -> None:
        self._uow = uow
        self._render = render
        self._interval_s = interval_s

    async def run_once(self, now: datetime) -> int:
        """Queue every digest due at `now` that no process has sent; returns how many."""
        sent = 0
        for due in await digests_due(now, uow=self._uow):
            tenant_id = str(due.tenant_id)
            try:
                if await send_digest(due, now, uow=self._uow, render=self._render):
                    sent += 1
                    period, start = due.schedule.period.value, str(due.start)
                    log.info("digest_sent", tenant_id=tenant_id, period=period, start=start)
            except Exception as exc:  # one tenant's failure must not stop the others
                log.warning("digest_failed", tenant_id=tenant_id, error=type(exc).__name__)
        return sent  # the unit of work woke the webhook relay after each claim's commit

    async def run(self, clock: Callable[[], datetime]) -> None:
        """Check once a minute until cancelled."""
        while True:
            try:
                await self.run_once(clock())
            except Exception as exc:  # PostgreSQL away: try again next time
                log.warning("digest_scheduler_failed", error=type(exc).__name__)
            await asyncio.sleep(self._interval_s)
