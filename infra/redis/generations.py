"""CounterGenerations: a tenant's counter meta (state, generation, layout version, behind
mark), the generation to apply to, and the rebuilds a missing or outdated one asks for.

Layout versions: a generation is used only by processes of the layout version it was
written with (layout.LAYOUT_VERSION, stored in meta when the generation is created). A
process of another version refuses it, logging once per generation, and its reads go to
PostgreSQL; its writes stay in the outbox, marked behind, until a process of the
generation's version applies them. A process of a newer version asks for a rebuild, which
replaces the generation with one of its own version (and counts those rows from the
snapshot); an older process never rebuilds a newer generation, so a rolling deploy moves
each tenant forward once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from uuid import UUID

import msgspec
import structlog

from infra.redis import layout
from infra.redis.client import RedisClient
from infra.redis.scripts import Script

log = structlog.get_logger(__name__)
_META_FIELDS = [layout.STATE, layout.GEN, layout.BEHIND, layout.LAYOUT]


class CounterMeta(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant's meta; every field None when it is missing."""

    state: str | None
    gen: int | None
    behind: str | None
    layout: int | None


class CounterGenerations:
    def __init__(
        self,
        redis: RedisClient,
        *,
        layout_version: int = layout.LAYOUT_VERSION,
        on_rebuild_needed: Callable[[UUID], object] | None = None,
    ) -> None:
        self.redis = redis
        self.layout_version = layout_version
        prelude = layout.lua_prelude()
        self._set_meta = Script(redis, "set_meta.lua", prelude=prelude)
        self._mark_behind = Script(redis, "mark_behind.lua", prelude=prelude)
        self._clear_behind = Script(redis, "clear_behind.lua", prelude=prelude)
        self._on_rebuild_needed = on_rebuild_needed
        self._gens: dict[UUID, int] = {}
        self._rebuilds: set[UUID] = set()
        self._refused: set[tuple[UUID, int | None]] = set()

    async def meta(self, tenant_id: UUID) -> tuple[str | None, int | None]:
        """(state, gen) of the tenant's counters; (None, None) when meta is missing."""
        found = await self.status(tenant_id)
        return found.state, found.gen

    async def status(self, tenant_id: UUID) -> CounterMeta:
        """The tenant's whole meta, in one call."""
        state, gen, behind, version = await self.redis.hmget(
            layout.meta_key(tenant_id), _META_FIELDS
        )
        if state is None:
            return CounterMeta(state=None, gen=None, behind=None, layout=None)
        return CounterMeta(
            state=state.decode(),
            gen=int(gen) if gen else None,
            behind=behind.decode() if behind else None,
            layout=int(version) if version else layout.UNVERSIONED,
        )

    async def mark_behind(self, tenant_ids: Iterable[UUID]) -> None:
        """Readers must not trust these tenants' counters until the drainer has applied what
        waits in their outbox (see mark_behind.lua)."""
        tenants = sorted(set(tenant_ids))
        for tenant_id in tenants:
            await self._mark_behind(keys=[layout.meta_key(tenant_id)], args=[])
        if tenants:
            await self.redis.sadd(layout.BEHIND_SET, *map(str, tenants))

    async def clear_behind(self, tenant_id: UUID, seen: str) -> bool:
        """Clear the mark if it is still `seen` (nothing marked since); True when clear."""
        cleared = bool(await self._clear_behind(keys=[layout.meta_key(tenant_id)], args=[seen]))
        if cleared:
            await self.redis.srem(layout.BEHIND_SET, str(tenant_id))
        return cleared

    async def behind_tenants(self) -> list[UUID]:
        """Tenants marked behind (the drainer visits them even with an empty outbox)."""
        return [UUID(m.decode()) for m in await self.redis.smembers(layout.BEHIND_SET)]

    async def set_meta(
        self, tenant_id: UUID, *, expect_state: str, expect_gen: int | None, state: str, gen: int
    ) -> bool:
        """Compare-and-set; expect_state '' = any, '-' = missing; expect_gen None = any. The
        generation is recorded as written with this process's layout version."""
        expected = "" if expect_gen is None else expect_gen
        args = [expect_state, expected, state, gen, self.layout_version]
        return bool(await self._set_meta(keys=[layout.meta_key(tenant_id)], args=args))

    async def init_tenant(self, tenant_id: UUID) -> None:
        """A new tenant's counters: ready and empty, generation 0 (the sequence starts at 1)."""
        await self.set_meta(tenant_id, expect_state="-", expect_gen=None, state=layout.READY, gen=0)

    def needs_rebuild(self, tenant_id: UUID) -> None:
        """Meta is missing or outdated: ask the hook for a background rebuild, one at a time
        per tenant. When the hook returns the rebuild's future (an asyncio.Task), the tenant
        is not asked for again until it is done; a hook returning None must deduplicate."""
        self._gens.pop(tenant_id, None)
        if self._on_rebuild_needed is None or tenant_id in self._rebuilds:
            return
        pending = self._on_rebuild_needed(tenant_id)
        if isinstance(pending, asyncio.Future) and not pending.done():
            self._rebuilds.add(tenant_id)
            pending.add_done_callback(lambda _: self._rebuilds.discard(tenant_id))

    def forget(self, tenant_id: UUID) -> None:
        """The cached generation is no longer meta's (an apply was refused)."""
        self._gens.pop(tenant_id, None)

    def refuses(self, tenant_id: UUID, version: int | None, gen: int | None) -> bool:
        """True when a generation of layout `version` is not this process's to use: logged
        once per generation; a generation older than this process's layout asks for a
        rebuild into the current one."""
        if version is None or version == self.layout_version:
            return False
        self._gens.pop(tenant_id, None)
        if (tenant_id, gen) not in self._refused:
            self._refused.add((tenant_id, gen))
            log.warning(
                "counter_layout_refused",
                tenant_id=str(tenant_id),
                generation=gen,
                generation_layout=version,
                process_layout=self.layout_version,
            )
        if version < self.layout_version:
            self.needs_rebuild(tenant_id)
        return True

    def outdated(self, found: CounterMeta) -> bool:
        """True when a rebuild by this process would replace the generation: meta is missing
        or not ready, or ready with an older layout (never a newer one)."""
        if found.state != layout.READY or found.gen is None:
            return True
        return (found.layout or layout.UNVERSIONED) < self.layout_version

    async def expected_gen(self, tenant_id: UUID) -> int | None:
        """The ready generation to apply to (cached), or None when counters are not ready or
        were written with another layout."""
        if tenant_id in self._gens:
            return self._gens[tenant_id]
        found = await self.status(tenant_id)
        if found.state is None:
            self.needs_rebuild(tenant_id)
        if self.refuses(tenant_id, found.layout, found.gen):
            return None
        if found.state != layout.READY or found.gen is None:
            return None
        self._gens[tenant_id] = found.gen
        return found.gen
