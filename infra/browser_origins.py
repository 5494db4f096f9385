"""Which web origins may send preflights: those of live publishable keys and browser tokens.

A preflight carries no key, so it is answered from the union over all tenants; the request
that follows is checked against its own key or token. The set is held per process and read
again (one query, whatever the number of preflights) when it is older than REFRESH_S, or
older than MISS_REFRESH_S when an origin is missing: a new key's origins pass within a
second in every process (at once in the process that created it, see invalidate), and a
revoked key's origins stop passing within REFRESH_S.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import structlog

log = structlog.get_logger(__name__)
REFRESH_S = 5.0
MISS_REFRESH_S = 1.0
_QUERY = (
    "SELECT DISTINCT o FROM api_keys k, unnest(k.origins) o"
    " WHERE k.kind = 'publishable' AND k.revoked_at IS NULL"
    " UNION SELECT t.origin FROM token_origins t JOIN api_keys k"
    " ON k.tenant_id = t.tenant_id AND k.id = t.key_id"
    " WHERE t.expires_at > now() AND k.revoked_at IS NULL"
)


class PgBrowserOrigins:
    def __init__(self, pool: asyncpg.Pool, *, refresh_s: float = REFRESH_S) -> None:
        self._pool = pool
        self._refresh_s = refresh_s
        self._origins: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def allows(self, origin: str) -> bool:
        age = time.monotonic() - self._read_at
        known = origin in self._origins
        if age > self._refresh_s or (not known and age > MISS_REFRESH_S):
            await self._refresh(self._read_at)
            known = origin in self._origins
        return known

    def invalidate(self) -> None:
        """Read the set again on the next preflight (a key or token was just created)."""
        self._read_at = float("-inf")

    async def _refresh(self, seen: float) -> None:
        async with self._lock:
            if self._read_at != seen:
                return  # another request refreshed meanwhile
            try:
                rows = await self._pool.fetch(_QUERY, timeout=1.0)
            except Exception as exc:  # keep the last known set; a preflight never fails
                log.warning("browser_origins_unreadable", error=type(exc).__name__)
                self._read_at = time.monotonic() - self._refresh_s + MISS_REFRESH_S
                return
            self._origins = frozenset(r[0] for r in rows)
            self._read_at = time.monotonic()
