"""CounterKeeper: rebuilds counters in the background, a few tenants at a time.

A rebuild is asked for when a read or an apply finds a tenant's meta missing, and for every
tenant whose meta is missing when Redis lost its data, without waiting for anyone to read:
the `nps:counters:alive` key disappears with the data (a flush, a restart without
persistence), and the keeper, which checks for it every tick, sets it again and schedules
the rebuild of each tenant without counters. At most `concurrency` rebuilds run at once in
this process, those a read or a write asked for first; the rebuild's per-tenant lock keeps
other processes from doing the same tenant twice. A tenant asked for while its rebuild runs
is run again once that one ends (by then meta may be gone again: Redis emptied after the
rebuild looked); the second run only checks, unless the counters really need it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from uuid import UUID

import asyncpg
import structlog

from infra.counter_sync.rebuild import rebuild
from infra.outage import REDIS_DOWN
from infra.redis import layout
from infra.redis.breaker import RedisBreaker
from infra.redis.counters import RedisCounterStore
from infra.tasks import stop

log = structlog.get_logger(__name__)
CHUNK = 1000  # metas checked per pipeline


class CounterKeeper:
    def __init__(
        self,
        pool: asyncpg.Pool,
        store: RedisCounterStore,
        *,
        breaker: RedisBreaker | None = None,
        concurrency: int = 2,
        interval: float = 1.0,
    ) -> None:
        self._pool, self._store, self._breaker = pool, store, breaker
        self._concurrency = concurrency
        self._interval = interval
        self._queue: deque[UUID] = deque()
        self._running: set[UUID] = set()
        self._again: set[UUID] = set()  # asked for while running: run again afterwards
        self._workers: set[asyncio.Task[None]] = set()

    @property
    def scheduled(self) -> int:
        """Rebuilds waiting or running."""
        return len(self._queue) + len(self._running)

    def schedule(self, tenant_id: UUID, *, urgent: bool = True) -> None:
        """Rebuild the tenant's counters in the background (once at a time per tenant).
        Urgent ones (a read or a write asked) go before those of a sweep."""
        if tenant_id in self._running:
            self._again.add(tenant_id)
            return
        if tenant_id in self._queue:
            if not urgent:
                return
            self._queue.remove(tenant_id)
        if urgent:
            self._queue.appendleft(tenant_id)
        else:
            self._queue.append(tenant_id)
        while len(self._workers) < min(self._concurrency, len(self._queue)):
            worker = asyncio.get_running_loop().create_task(self._work())
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)

    async def _work(self) -> None:
        while self._queue:
            tenant_id = self._queue.popleft()
            self._running.add(tenant_id)
            try:
                await rebuild(self._pool, self._store, tenant_id, only_if_needed=True)
            except Exception as exc:  # the next read, drain or check asks again
                log.warning("rebuild_failed", tenant_id=str(tenant_id), error=type(exc).__name__)
                if self._breaker is not None and isinstance(exc, REDIS_DOWN):
                    self._breaker.failed(exc)
            finally:
                self._running.discard(tenant_id)
                if tenant_id in self._again:
                    self._again.discard(tenant_id)
                    self.schedule(tenant_id)

    async def check_once(self) -> int:
        """When Redis lost its data (or on first use), schedule a rebuild of every tenant
        without counters; returns how many were scheduled."""
        if self._breaker is not None and not self._breaker.available:
            return 0
        if not await self._store.redis.set(layout.ALIVE, "1", nx=True):
            return 0  # present: nothing was lost since the last check
        tenants = [r["id"] for r in await self._pool.fetch("SELECT id FROM tenants ORDER BY id")]
        missing = []
        for start in range(0, len(tenants), CHUNK):
            chunk = tenants[start : start + CHUNK]
            async with self._store.redis.pipeline(transaction=False) as pipe:
                for tenant_id in chunk:
                    pipe.exists(layout.meta_key(tenant_id))
                found = await pipe.execute()
            missing += [t for t, there in zip(chunk, found, strict=True) if not there]
        for tenant_id in missing:
            self.schedule(tenant_id, urgent=False)
        if missing:
            log.info("counters_rebuild_scheduled", tenants=len(missing))
        return len(missing)

    async def run(self) -> None:
        """Check every `interval` seconds until cancelled; errors are retried next time."""
        while True:
            try:
                await self.check_once()
            except Exception as exc:
                log.warning("counter_check_failed", error=type(exc).__name__)
                if self._breaker is not None and isinstance(exc, REDIS_DOWN):
                    self._breaker.failed(exc)
            await asyncio.sleep(self._interval)

    async def close(self) -> None:
        self._queue.clear()
        self._again.clear()
        await stop(self._workers)
