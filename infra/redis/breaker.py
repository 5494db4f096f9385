"""RedisBreaker: whether Redis may be called now, shared by everything that uses Redis.

Closed (available): call Redis. A call that fails because Redis is down or does not answer
in time reports it (`failed`), which opens the breaker: callers do without Redis at full
speed (results from PostgreSQL, counter changes left in the outbox, rate limits per
process) instead of each waiting for its own timeout. While open, a probe PINGs Redis (every
master of a cluster) every
`retry_s`; when it answers, the recovery hooks run (they must succeed: a hook that raises
keeps the breaker open) and the breaker closes again.

Usage by a caller:

    if not breaker.available:
        return fallback()
    try:
        return await redis_call()
    except REDIS_DOWN as exc:
        breaker.failed(exc)
        return fallback()
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from infra.outage import REDIS_DOWN
from infra.redis.client import RedisClient, ping
from infra.tasks import stop

log = structlog.get_logger(__name__)
RecoveryHook = Callable[[], Awaitable[None]]

__all__ = ["REDIS_DOWN", "RedisBreaker"]


class RedisBreaker:
    def __init__(self, redis: RedisClient, *, retry_s: float = 0.5, timeout_s: float = 0.5) -> None:
        self._redis = redis
        self._retry_s = retry_s
        self._timeout_s = timeout_s
        self._open = False
        self._probe: asyncio.Task[None] | None = None
        self._hooks: list[RecoveryHook] = []
        self.opened = 0  # times it opened (for tests and logs)

    @property
    def available(self) -> bool:
        """True when Redis may be called now."""
        return not self._open

    def on_recovery(self, hook: RecoveryHook) -> None:
        """Run `hook` when Redis answers again, before anyone calls it (in order of adding)."""
        self._hooks.append(hook)

    def failed(self, exc: BaseException | None = None) -> None:
        """A Redis call failed: stop calling Redis until the probe sees it back."""
        if self._open:
            return
        self._open = True
        self.opened += 1
        log.warning("redis_unavailable", error=type(exc).__name__ if exc else None)
        self._probe = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        while True:
            await asyncio.sleep(self._retry_s)
            try:
                async with asyncio.timeout(self._timeout_s * 2):
                    await ping(self._redis)
                for hook in self._hooks:
                    await hook()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # still away, or a hook could not finish: try again
                log.debug("redis_probe_failed", error=type(exc).__name__)
                continue
            self._open = False
            self._probe = None
            log.info("redis_available")
            return

    async def close(self) -> None:
        """Stop probing (the API is stopping)."""
        if self._probe is not None:
            await stop([self._probe])
            self._probe = None
