"""The counters when Redis may be away: readers fall back to PostgreSQL, writers leave their
changes in the outbox and make sure no reader trusts counters that miss them.

ResilientCounters is the counter store as readers see it: None ("ask PostgreSQL") while the
breaker is open, while this process holds changes of the tenant that Redis does not know
about yet, or when the call fails. CounterBacklog is the writers' side: the tenants whose
committed changes were not applied are marked behind in Redis before their answers are
acknowledged; while Redis is away they are kept here, and the breaker's recovery marks
them (with every tenant that has rows waiting in the outbox) before Redis is used again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from uuid import UUID

import asyncpg
import redis.exceptions
import structlog

from domain.model import ResultQuery
from domain.nps import Histogram
from infra.outage import POSTGRES_DOWN, REDIS_DOWN
from infra.postgres.outbox import tenants_with_outbox
from infra.redis.breaker import RedisBreaker
from infra.redis.counters import RedisCounterStore

log = structlog.get_logger(__name__)
# Any Redis error sends a read to PostgreSQL; only outages open the breaker.
_FAILED = (redis.exceptions.RedisError, *REDIS_DOWN)


class CounterBacklog:
    def __init__(
        self,
        store: RedisCounterStore,
        breaker: RedisBreaker,
        *,
        pool: asyncpg.Pool | None = None,
    ) -> None:
        self._store, self._breaker, self._pool = store, breaker, pool
        self.unmarked: set[UUID] = set()
        breaker.on_recovery(self.mark_unmarked)

    def __contains__(self, tenant_id: UUID) -> bool:
        return tenant_id in self.unmarked

    async def mark(self, tenant_ids: Iterable[UUID]) -> None:
        """These tenants' committed changes were not applied: mark them behind, in Redis
        when it answers, else here until it does."""
        tenants = set(tenant_ids)
        if not tenants:
            return
        if self._breaker.available:
            try:
                await self._store.mark_behind(tenants)
                return
            except REDIS_DOWN as exc:
                self._breaker.failed(exc)
        self.unmarked |= tenants

    async def mark_on_start(self) -> None:
        """Mark every tenant with rows waiting in the outbox (left by a process that died
        between commit and apply); with Redis away, its recovery does it instead."""
        try:
            await self.mark_unmarked()
        except REDIS_DOWN as exc:
            self._breaker.failed(exc)

    async def mark_unmarked(self) -> None:
        """Recovery hook: mark what this process kept, and every tenant with rows waiting in
        the outbox (other processes may have kept some too). Raises while Redis is away."""
        tenants = set(self.unmarked)
        if self._pool is not None:
            try:
                async with self._pool.acquire() as conn:
                    tenants |= set(await tenants_with_outbox(conn))
            except POSTGRES_DOWN as exc:  # the drainer finds them later
                log.warning("outbox_listing_failed", error=type(exc).__name__)
        await self._store.mark_behind(tenants)
        self.unmarked -= tenants
        if tenants:
            log.info("counters_marked_behind", tenants=len(tenants))


class ResilientCounters:
    def __init__(
        self,
        store: RedisCounterStore,
        *,
        breaker: RedisBreaker | None = None,
        backlog: CounterBacklog | None = None,
    ) -> None:
        self._store = store
        self._reads = store.reads  # the read path calls the reads part without a hop
        self._breaker = breaker or RedisBreaker(store.redis)
        self._backlog = backlog

    def _usable(self, tenant_id: UUID) -> bool:
        return self._breaker.available and (self._backlog is None or tenant_id not in self._backlog)

    def _down(self, exc: BaseException) -> None:
        log.warning("counters_unavailable", error=type(exc).__name__)
        if isinstance(exc, REDIS_DOWN):
            self._breaker.failed(exc)

    async def histograms(
        self, query: ResultQuery, periods: Sequence[tuple[date, date]]
    ) -> list[Histogram] | None:
        if not self._usable(query.tenant_id):
            return None
        try:
            return await self._reads.histograms(query, periods)
        except _FAILED as exc:
            self._down(exc)
            return None

    async def breakdown(self, query: ResultQuery, dimension: str) -> dict[str, Histogram] | None:
        if not self._usable(query.tenant_id):
            return None
        try:
            return await self._reads.breakdown(query, dimension)
        except _FAILED as exc:
            self._down(exc)
            return None

    async def init_tenant(self, tenant_id: UUID) -> None:
        if not self._breaker.available:
            return  # rebuilt in the background once Redis is back (meta missing)
        try:
            await self._store.init_tenant(tenant_id)
        except _FAILED as exc:
            self._down(exc)
