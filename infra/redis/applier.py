"""CounterApplier: outbox rows applied to a generation (apply.lua), each writing transaction
once, and the applied set's cleanup once the rows are gone from PostgreSQL.

Safety rule of the write side: the generation an applier expects must have been read from
Redis before the outbox rows' transaction committed (the batcher) or before the rows were
read from the outbox (the drainer); the apply script refuses any other generation, and any
generation written with another layout version. A rebuild moves to a new generation, so a
row committed before its snapshot can never be applied to it twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from uuid import UUID

from infra.postgres.outbox import OutboxRow
from infra.redis import layout
from infra.redis.client import RedisClient
from infra.redis.generations import CounterGenerations
from infra.redis.scripts import Script

FORGET_AFTER_S = 300.0  # applied xids outlive their outbox rows this long (no holder is slower)
# (when the rows were deleted, tenant, generation, their writing transactions)
Deleted = tuple[float, UUID, int, list[str]]


def due_for_forgetting(
    pending: list[Deleted], now: float, after_s: float
) -> tuple[list[Deleted], list[Deleted]]:
    """(due, kept): the entries deleted at least `after_s` seconds before `now`, the rest."""
    cutoff = now - after_s
    return [x for x in pending if x[0] <= cutoff], [x for x in pending if x[0] > cutoff]


class CounterApplier:
    def __init__(
        self,
        redis: RedisClient,
        generations: CounterGenerations,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self._generations = generations
        self._apply = Script(redis, "apply.lua", prelude=layout.lua_prelude())
        self._clock = clock
        self._to_forget: list[Deleted] = []
        self.forget_after_s = FORGET_AFTER_S

    async def apply(
        self, tenant_id: UUID, gen: int, rows: Sequence[OutboxRow], *, state: str = layout.READY
    ) -> bool:
        """Apply rows to generation `gen` if meta is (state, gen, this layout): True when
        applied now or before, False when refused (nothing changed; the cached generation is
        forgotten, and the counters are marked behind)."""
        if not rows:
            return True
        generations = self._generations
        result = await self._apply(
            keys=[layout.meta_key(tenant_id), layout.applied_key(tenant_id, gen)],
            args=[
                state,
                gen,
                generations.layout_version,
                layout.gen_prefix(tenant_id, gen),
                layout.apply_payload(rows),
            ],
        )
        if int(result[0]) == 1:
            return True
        generations.forget(tenant_id)
        if not result[1]:
            generations.needs_rebuild(tenant_id)
        else:
            generations.refuses(tenant_id, int(result[3]), int(result[2]))
        return False

    def deleted(self, tenant_id: UUID, gen: int, xids: Iterable[str]) -> None:
        """Outbox rows gone from PostgreSQL: their transactions may leave the applied set later."""
        self._to_forget.append((self._clock(), tenant_id, gen, list(xids)))

    async def forget_deleted(self) -> None:
        """SREM applied xids whose rows were deleted long enough ago that nobody holds them."""
        due, self._to_forget = due_for_forgetting(
            self._to_forget, self._clock(), self.forget_after_s
        )
        if not due:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for _, tenant_id, gen, xids in due:
                if xids:
                    pipe.srem(layout.applied_key(tenant_id, gen), *xids)
            await pipe.execute()
