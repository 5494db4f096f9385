"""Authenticated keys cached per process; revocations reach every process through Redis.

A change of a tenant's rate limits is published the same way and drops all its keys.

An entry lives at most TTL seconds, so even with Redis away a revoked key stops working
within that bound; normally the revoking process publishes the revocation and every
process evicts the key at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable
from uuid import UUID

import structlog
from redis.asyncio.client import PubSub

from domain.keys import ParsedKey
from domain.model import Principal
from domain.ratelimit import TenantLimits
from infra.redis.client import RedisClient, Subscriber

log = structlog.get_logger(__name__)
CHANNEL = "nps:keys:revoked"
ALL_KEYS = "*"  # in a message instead of a key id: every key of the tenant
TTL_S = 5.0
PING_S = 1.0  # the listener pings its server this often; silent 3x as long: reconnect
MAX_ENTRIES = 100_000


class RedisPrincipalCache:
    def __init__(
        self,
        redis: RedisClient,
        *,
        listener: Subscriber | None = None,
        ttl: float = TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._listener = listener or redis  # a client without read timeout for pub/sub
        self._ttl = ttl
        self._clock = clock  # seconds, only ever compared with itself
        # By the SHA-256 of the whole token: a hit needs neither parsing nor a comparison
        # of secrets (only the right token has that digest); the key's id finds it to evict.
        self._entries: dict[bytes, tuple[Principal, float]] = {}
        self._digests: dict[tuple[UUID, UUID], bytes] = {}
        # Issuing keys of browser tokens found live, until when (tokens are never stored).
        # Issuing keys of browser tokens checked lately: until when, their tenant's limits.
        self._issuers: dict[tuple[UUID, UUID], tuple[float, TenantLimits | None]] = {}
        self._stopped = False

    def get(self, token: str) -> Principal | None:
        digest = _digest(token)
        entry = self._entries.get(digest)
        if entry is None:
            return None
        principal, expires = entry
        if expires < self._clock():
            del self._entries[digest]
            return None
        return principal

    def put(self, token: str, parsed: ParsedKey, principal: Principal) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
            self._digests.clear()
        key = (parsed.tenant_id, parsed.key_id)
        self._entries.pop(self._digests.get(key, b""), None)
        digest = self._digests[key] = _digest(token)
        self._entries[digest] = (principal, self._clock() + self._ttl)

    def issuer_live(self, tenant_id: UUID, key_id: UUID) -> bool:
        return self._issuers.get((tenant_id, key_id), (0.0, None))[0] >= self._clock()

    def issuer_limits(self, tenant_id: UUID, key_id: UUID) -> TenantLimits | None:
        """The rate limit overrides of the issuer's tenant, as of its last check."""
        return self._issuers.get((tenant_id, key_id), (0.0, None))[1]

    def mark_issuer_live(
        self, tenant_id: UUID, key_id: UUID, limits: TenantLimits | None = None
    ) -> None:
        if len(self._issuers) >= MAX_ENTRIES:
            self._issuers.clear()
        self._issuers[(tenant_id, key_id)] = (self._clock() + self._ttl, limits)

    def evict(self, tenant_id: UUID, key_id: UUID) -> None:
        self._issuers.pop((tenant_id, key_id), None)
        digest = self._digests.pop((tenant_id, key_id), None)
        if digest is not None:
            self._entries.pop(digest, None)

    def evict_tenant(self, tenant_id: UUID) -> None:
        for key in {k for k in [*self._digests, *self._issuers] if k[0] == tenant_id}:
            self.evict(*key)

    async def revoked(self, *, tenant_id: UUID, key_id: UUID) -> None:
        self.evict(tenant_id, key_id)
        await self._publish(f"{tenant_id}:{key_id}")

    async def tenant_changed(self, tenant_id: UUID) -> None:
        """Every process drops its cached keys of the tenant (their limits changed)."""
        self.evict_tenant(tenant_id)
        await self._publish(f"{tenant_id}:{ALL_KEYS}")

    async def _publish(self, message: str) -> None:
        try:
            await self._redis.publish(CHANNEL, message)
        except Exception as exc:  # other processes forget the key within TTL_S anyway
            log.warning("revocation_not_published", error=type(exc).__name__)

    def stop(self) -> None:
        """End listen() at its next wake-up (a cancelled pub/sub read may not end it)."""
        self._stopped = True

    async def listen(self) -> None:
        """Evict keys revoked by other processes; reconnects after Redis outages, and when
        its server stops answering its pings (a frozen node, a cluster node failed over)."""
        self._stopped = False
        while not self._stopped:
            try:
                async with self._listener.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    await self._receive(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._stopped:
                    return
                log.warning("revocation_listener_down", error=type(exc).__name__)
                self._entries.clear()  # revocations may have been missed meanwhile
                self._issuers.clear()
                await asyncio.sleep(1)

    async def _receive(self, pubsub: PubSub) -> None:
        heard = pinged = time.monotonic()
        while not self._stopped:
            message = await pubsub.get_message(timeout=PING_S)
            now = time.monotonic()
            if message is not None:
                heard = now
                if message.get("type") == "message":
                    self._on_message(message["data"])
            if now - heard > 3 * PING_S:
                raise TimeoutError("the revocation channel's server stopped answering")
            if now - pinged >= PING_S:
                await pubsub.ping()
                pinged = now

    def _on_message(self, data: bytes) -> None:
        with contextlib.suppress(ValueError):
            tenant, key = data.decode().split(":", 1)
            if key == ALL_KEYS:
                self.evict_tenant(UUID(tenant))
            else:
                self.evict(UUID(tenant), UUID(key))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
