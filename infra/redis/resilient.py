"""ResilientCounters: the counter store for readers, where a Redis outage means "ask PostgreSQL"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import redis.exceptions
import structlog

from domain.model import ResultQuery
from domain.nps import Histogram
from infra.redis.counters import RedisCounterStore

log = structlog.get_logger(__name__)
_DOWN = (redis.exceptions.RedisError, OSError)


class ResilientCounters:
    def __init__(self, store: RedisCounterStore) -> None:
        self._store = store

    async def histograms(
        self, query: ResultQuery, periods: Sequence[tuple[date, date]]
    ) -> list[Histogram] | None:
        try:
            return await self._store.histograms(query, periods)
        except _DOWN as exc:
            log.warning("counters_unavailable", error=type(exc).__name__)
            return None

    async def breakdown(self, query: ResultQuery, dimension: str) -> dict[str, Histogram] | None:
        try:
            return await self._store.breakdown(query, dimension)
        except _DOWN as exc:
            log.warning("counters_unavailable", error=type(exc).__name__)
            return None

    async def init_tenant(self, tenant_id: UUID) -> None:
        try:
            await self._store.init_tenant(tenant_id)
        except _DOWN as exc:  # rebuilt on first use instead
            log.warning("counters_unavailable", error=type(exc).__name__)
