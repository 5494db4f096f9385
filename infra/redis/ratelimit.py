"""Rate limiters: exact across processes in Redis (one Lua call), approximate in-process.

RedisRateLimiter spends a cost with one EVALSHA of lua/ratelimit.lua, whatever the number
of limits: every bucket of a check shares the `{tag}` hash tag, so they sit in one cluster
slot and the script sees and changes them atomically. Checks that arrive together share a
round trip (infra.redis.scripts, shared calls), each decided as if sent alone.

While Redis fails or is slower than the client's timeout (NPS_REDIS_TIMEOUT_S), each
process decides alone with a LocalRateLimiter (the same rule over a dict): a caller spread
over N processes may then get up to N times its quota. After a failure Redis is tried
again `retry_s` later (NPS_REDIS_RETRY_S); with a RedisBreaker given, its state decides
instead, shared with every other Redis user of the process (it opens on the first failure
anywhere).

LocalRateLimiter holds one bucket per key; beyond MAX_BUCKETS it forgets those that have
given back all their units (they are full again).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import redis.exceptions
import structlog

from domain.ratelimit import NEVER, Bucket, Decision, Limit, LimitState, gcra
from infra.outage import REDIS_DOWN
from infra.redis.breaker import RedisBreaker
from infra.redis.client import RedisClient
from infra.redis.scripts import Script

log = structlog.get_logger(__name__)
RETRY_S = 0.5
MAX_BUCKETS = 200_000
_DOWN = (redis.exceptions.RedisError, OSError, TimeoutError)

Clock = Callable[[], float]  # seconds since the epoch


def bucket_key(tag: str, name: str) -> str:
    return f"nps:{{{tag}}}:rl:{name}"


class LocalRateLimiter:
    """The GCRA rule in this process only (the fallback; also handy in unit tests)."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[Bucket, float]] = {}  # key -> (bucket, empty at ms)

    async def check(
        self,
        tag: str,
        buckets: Sequence[tuple[str, Limit]],
        *,
        cost: int = 1,
        consume: bool = True,
    ) -> Decision:
        now = self._clock() * 1000.0
        keys = [bucket_key(tag, name) for name, _ in buckets]
        limits = [limit for _, limit in buckets]
        stored = [self._buckets.get(k, (None, 0.0))[0] for k in keys]
        decision, new = gcra(stored, limits, now_ms=now, cost=cost)
        if new is not None and consume:
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets = {k: v for k, v in self._buckets.items() if v[1] > now}
            for key, bucket, limit in zip(keys, new, limits, strict=True):
                empty_at = now + bucket[0] * limit.window_s * 1000.0 / limit.quota
                self._buckets[key] = (bucket, empty_at)
        return decision


class RedisRateLimiter:
    """The shared limiter; `clock` None means Redis's own clock (tests inject one)."""

    def __init__(
        self,
        redis: RedisClient,
        *,
        clock: Clock | None = None,
        fallback: LocalRateLimiter | None = None,
        retry_s: float = RETRY_S,
        breaker: RedisBreaker | None = None,
    ) -> None:
        self._breaker = breaker
        self._script = Script(redis, "ratelimit.lua", shared_calls=True)
        self._clock = clock
        self._retry_s = retry_s
        self._fallback = fallback or LocalRateLimiter(clock or time.time)
        self._down_until = 0.0

    async def check(
        self,
        tag: str,
        buckets: Sequence[tuple[str, Limit]],
        *,
        cost: int = 1,
        consume: bool = True,
    ) -> Decision:
        if (self._breaker is not None and not self._breaker.available) or (
            self._down_until and time.monotonic() < self._down_until
        ):
            return await self._local(tag, buckets, cost=cost, consume=consume)
        args: list[object] = ["" if self._clock is None else repr(self._clock() * 1000.0)]
        args += [cost, "1" if consume else "0"]
        for _, limit in buckets:
            args += [limit.quota, limit.window_s * 1000]
        keys = [bucket_key(tag, name) for name, _ in buckets]
        try:
            raw = await self._script(keys, args)
        except _DOWN as exc:
            log.warning("rate_limiter_fallback", error=type(exc).__name__)
            if self._breaker is not None and isinstance(exc, REDIS_DOWN):
                self._breaker.failed(exc)
            else:
                self._down_until = time.monotonic() + self._retry_s
            return await self._local(tag, buckets, cost=cost, consume=consume)
        self._down_until = 0.0
        return _decision(raw, [limit for _, limit in buckets])

    async def close(self) -> None:
        """Stop the checks under way (see infra.redis.scripts, shared calls)."""
        await self._script.close()

    async def _local(
        self, tag: str, buckets: Sequence[tuple[str, Limit]], *, cost: int, consume: bool
    ) -> Decision:
        decision = await self._fallback.check(tag, buckets, cost=cost, consume=consume)
        return Decision(
            allowed=decision.allowed,
            retry_after_s=decision.retry_after_s,
            states=decision.states,
            fallback=True,
        )


def _decision(raw: list[int], limits: Sequence[Limit]) -> Decision:
    states = tuple(
        LimitState(
            limit=limit,
            remaining=int(raw[2 + 3 * i]),
            reset_s=NEVER if int(raw[3 + 3 * i]) < 0 else int(raw[3 + 3 * i]) / 1000.0,
            violated=raw[4 + 3 * i] == 1,
        )
        for i, limit in enumerate(limits)
    )
    retry = int(raw[1])
    return Decision(
        allowed=raw[0] == 1,
        retry_after_s=0.0 if raw[0] == 1 else NEVER if retry < 0 else retry / 1000.0,
        states=states,
    )
