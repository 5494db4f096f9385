"""RedisCounterStore: one tenant-keyed counter store made of its three parts, generations
(infra.redis.generations), apply (infra.redis.applier) and reads (infra.redis.counter_reads);
the layout they share is infra.redis.layout."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from uuid import UUID

from domain.model import ResultQuery
from domain.nps import Histogram
from infra.postgres.outbox import OutboxRow
from infra.redis import layout
from infra.redis.applier import CounterApplier
from infra.redis.client import RedisClient
from infra.redis.counter_reads import CounterReads
from infra.redis.generations import CounterGenerations, CounterMeta

READY, REBUILDING = layout.READY, layout.REBUILDING


class RedisCounterStore:
    """Live 11-bin histograms per tenant, each writing transaction applied once; each call is
    its part's (see those modules for the protocol)."""

    def __init__(
        self,
        redis: RedisClient,
        *,
        on_rebuild_needed: Callable[[UUID], object] | None = None,
        layout_version: int = layout.LAYOUT_VERSION,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.generations = CounterGenerations(
            redis, layout_version=layout_version, on_rebuild_needed=on_rebuild_needed
        )
        self.applier = CounterApplier(redis, self.generations, clock=clock)
        self.reads = CounterReads(redis, self.generations)

    @property
    def layout_version(self) -> int:
        return self.generations.layout_version

    @property
    def forget_after_s(self) -> float:
        return self.applier.forget_after_s

    @forget_after_s.setter
    def forget_after_s(self, seconds: float) -> None:
        self.applier.forget_after_s = seconds

    # --- generations ------------------------------------------------------------------

    async def meta(self, tenant_id: UUID) -> tuple[str | None, int | None]:
        return await self.generations.meta(tenant_id)

    async def status(self, tenant_id: UUID) -> CounterMeta:
        return await self.generations.status(tenant_id)

    async def mark_behind(self, tenant_ids: Iterable[UUID]) -> None:
        await self.generations.mark_behind(tenant_ids)

    async def clear_behind(self, tenant_id: UUID, seen: str) -> bool:
        return await self.generations.clear_behind(tenant_id, seen)

    async def behind_tenants(self) -> list[UUID]:
        return await self.generations.behind_tenants()

    async def set_meta(
        self, tenant_id: UUID, *, expect_state: str, expect_gen: int | None, state: str, gen: int
    ) -> bool:
        return await self.generations.set_meta(
            tenant_id, expect_state=expect_state, expect_gen=expect_gen, state=state, gen=gen
        )

    async def init_tenant(self, tenant_id: UUID) -> None:
        await self.generations.init_tenant(tenant_id)

    async def expected_gen(self, tenant_id: UUID) -> int | None:
        return await self.generations.expected_gen(tenant_id)

    # --- apply ------------------------------------------------------------------------

    async def apply(
        self, tenant_id: UUID, gen: int, rows: Sequence[OutboxRow], *, state: str = READY
    ) -> bool:
        return await self.applier.apply(tenant_id, gen, rows, state=state)

    def deleted(self, tenant_id: UUID, gen: int, xids: Iterable[str]) -> None:
        self.applier.deleted(tenant_id, gen, xids)

    async def forget_deleted(self) -> None:
        await self.applier.forget_deleted()

    # --- reads ------------------------------------------------------------------------
    async def close(self) -> None:
        """Stop the reads under way (see infra.redis.scripts, shared calls)."""
        await self.reads.close()

    async def histograms(
        self, query: ResultQuery, periods: Sequence[tuple[date, date]]
    ) -> list[Histogram] | None:
        return await self.reads.histograms(query, periods)

    async def breakdown(self, query: ResultQuery, dimension: str) -> dict[str, Histogram] | None:
        return await self.reads.breakdown(query, dimension)
