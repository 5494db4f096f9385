"""Rate limits: quotas per window and the GCRA rule that enforces them (the limiter port is
in domain/ports.py).

A limit of `quota` units per `window_s` seconds lets a caller spend the whole quota at once
and then one unit every window_s / quota seconds (the generic cell rate algorithm, GCRA).
The same rule is written in Lua (infra/redis/lua/ratelimit.lua) for Redis; a test runs
both on the same sequences.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:  # the port lives with the others and imports this module's types
    from domain.ports import RateLimiter

# Milliseconds below which a difference is floating-point noise, not time: times since the
# epoch in ms carry about 0.0002 ms of rounding each.
EPSILON = 0.01
NEVER = -1.0  # retry_after_s of a cost larger than the whole quota


class Limit(msgspec.Struct, frozen=True, kw_only=True):
    """`quota` units per `window_s` seconds; `name` is the policy name in the headers."""

    name: str
    quota: int
    window_s: int


class LimitState(msgspec.Struct, frozen=True, kw_only=True):
    """One limit after a check: units left now, seconds until full again (or, for a
    violated limit, until the request would pass)."""

    limit: Limit
    remaining: int
    reset_s: float
    violated: bool = False


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    allowed: bool
    retry_after_s: float  # 0 when allowed; NEVER when the cost exceeds a quota
    states: tuple[LimitState, ...]
    fallback: bool = False  # decided by the per-process limiter while Redis was away

    @property
    def violated(self) -> tuple[str, ...]:
        return tuple(s.limit.name for s in self.states if s.violated)


class TenantLimits(msgspec.Struct, frozen=True, kw_only=True):
    """An operator's overrides of one tenant's limits; None keeps the service default."""

    per_key: int | None = None
    per_tenant: int | None = None
    window_s: int | None = None

    @property
    def custom(self) -> bool:
        return (self.per_key, self.per_tenant, self.window_s) != (None, None, None)


class DefaultLimits(msgspec.Struct, frozen=True, kw_only=True):
    per_key: int
    per_tenant: int
    window_s: int

    def effective(self, overrides: TenantLimits | None) -> DefaultLimits:
        o = overrides or TenantLimits()
        return DefaultLimits(
            per_key=o.per_key or self.per_key,
            per_tenant=o.per_tenant or self.per_tenant,
            window_s=o.window_s or self.window_s,
        )

    def limits(self) -> tuple[Limit, Limit]:
        """The two policies of an API key's requests: its own, and its tenant's."""
        return (
            Limit(name="key", quota=self.per_key, window_s=self.window_s),
            Limit(name="tenant", quota=self.per_tenant, window_s=self.window_s),
        )


@functools.lru_cache(maxsize=1024)  # asked on every request; few distinct settings exist
def key_limits(defaults: DefaultLimits, overrides: TenantLimits | None) -> tuple[Limit, Limit]:
    """The key and tenant limits of a tenant: its overrides, else the service defaults."""
    return defaults.effective(overrides).limits()


Bucket = tuple[float, float]  # (units spent and not yet given back, at time ms)


def gcra(
    buckets: Sequence[Bucket | None],
    limits: Sequence[Limit],
    *,
    now_ms: float,
    cost: int,
) -> tuple[Decision, list[Bucket] | None]:
    """Check `cost` against every limit; the buckets to store when it passes.

    Each bucket holds the units spent and not yet given back, as of a time; one unit comes
    back every window / quota (GCRA in its continuous-state leaky bucket form, so that a
    changed limit applies to the units already spent). Keep this arithmetic step for step
    in line with infra/redis/lua/ratelimit.lua: a test runs both on the same sequences.
    """
    rows = []  # (level, after, retry_ms) per limit; retry 0 = passes, NEVER = cannot pass
    for stored, limit in zip(buckets, limits, strict=True):
        interval = limit.window_s * 1000.0 / limit.quota
        level = 0.0
        if stored is not None:
            level = max(0.0, stored[0] - max(0.0, now_ms - stored[1]) / interval)
        after = level + cost
        if cost > limit.quota:
            retry = NEVER
        elif (after - limit.quota) * interval > EPSILON:
            retry = (after - limit.quota) * interval
        else:
            retry = 0.0
        rows.append((level, after, retry))
    allowed = all(retry == 0.0 for _, _, retry in rows)
    states = tuple(
        _state(limit, level, after, retry, allowed=allowed)
        for (level, after, retry), limit in zip(rows, limits, strict=True)
    )
    retries = [retry for _, _, retry in rows if retry != 0.0]
    retry_after = 0.0 if allowed else NEVER if NEVER in retries else _ms(max(retries)) / 1000.0
    decision = Decision(allowed=allowed, retry_after_s=retry_after, states=states)
    return decision, ([(after, now_ms) for _, after, _ in rows] if allowed else None)


def _ms(value: float) -> int:
    """Whole milliseconds, rounded up (noise below EPSILON is not a millisecond)."""
    return math.ceil(value - EPSILON)


def _state(limit: Limit, level: float, after: float, retry: float, *, allowed: bool) -> LimitState:
    interval = limit.window_s * 1000.0 / limit.quota
    left = after if allowed else level
    remaining = max(0, math.floor(limit.quota - left + EPSILON / interval))
    reset_s = NEVER if retry == NEVER else _ms(retry if retry != 0.0 else left * interval) / 1000.0
    return LimitState(limit=limit, remaining=remaining, reset_s=reset_s, violated=retry != 0.0)


AUTH_FAILURES = "auth-failures"


async def charge_key(
    *,
    tenant_id: str,
    key_id: str,
    limits: tuple[Limit, Limit],
    cost: int,
    limiter: RateLimiter,
    address: tuple[str, Limit] | None = None,
) -> Decision:
    """Spend `cost` of an API key's quota and of its tenant's, both or neither; with
    `address` (a publishable key's caller and its limit) of that address's quota too."""
    key_limit, tenant_limit = limits
    buckets = [(f"key:{key_id}", key_limit), ("tenant", tenant_limit)]
    if address is not None:
        buckets.append((f"addr:{key_id}:{address[0]}", address[1]))
    return await limiter.check(tenant_id, buckets, cost=cost)


async def auth_failures_allowed(*, address: str, limit: Limit, limiter: RateLimiter) -> Decision:
    """Whether one more failed authentication from `address` would still be tolerated."""
    return await limiter.check(f"ip:{address}", [(AUTH_FAILURES, limit)], consume=False)


async def record_auth_failure(*, address: str, limit: Limit, limiter: RateLimiter) -> Decision:
    return await limiter.check(f"ip:{address}", [(AUTH_FAILURES, limit)])
