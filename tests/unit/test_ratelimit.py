"""The rate limit rule (GCRA), the per-process limiter, and how limits appear over HTTP."""

from __future__ import annotations

import pytest

from api.ratelimit import client_address, rate_headers, retry_after
from domain.ratelimit import NEVER, DefaultLimits, Limit, TenantLimits, gcra, key_limits
from infra.redis import ratelimit as local_module
from infra.redis.ratelimit import LocalRateLimiter

KEY = Limit(name="key", quota=3, window_s=60)
TENANT = Limit(name="tenant", quota=5, window_s=60)
T0 = 1_800_000_000_000.0  # ms


class Clock:
    def __init__(self) -> None:
        self.now = T0 / 1000

    def __call__(self) -> float:
        return self.now


def test_a_full_quota_passes_at_once_then_one_unit_per_interval() -> None:
    bucket = None
    for expected_remaining in (2, 1, 0):
        decision, new = gcra([bucket], [KEY], now_ms=T0, cost=1)
        assert decision.allowed and decision.states[0].remaining == expected_remaining
        assert new is not None
        bucket = new[0]
    refused, none = gcra([bucket], [KEY], now_ms=T0, cost=1)
    assert not refused.allowed and none is None
    assert refused.retry_after_s == 20.0 and refused.violated == ("key",)
    later, _ = gcra([bucket], [KEY], now_ms=T0 + 20_000, cost=1)
    assert later.allowed and later.states[0].remaining == 0


def test_a_cost_larger_than_the_quota_can_never_pass() -> None:
    decision, new = gcra([None], [KEY], now_ms=T0, cost=4)
    assert not decision.allowed and new is None
    assert decision.retry_after_s == NEVER and decision.states[0].reset_s == NEVER


async def test_a_refused_check_spends_nothing_on_any_limit() -> None:
    limiter = LocalRateLimiter(Clock())
    both = [("key:a", KEY), ("tenant", TENANT)]
    assert (await limiter.check("t", both, cost=3)).allowed
    refused = await limiter.check("t", both, cost=1)  # the key is empty, the tenant is not
    assert not refused.allowed and refused.violated == ("key",)
    other_key = await limiter.check("t", [("key:b", KEY), ("tenant", TENANT)], cost=2)
    assert other_key.allowed and other_key.states[1].remaining == 0


async def test_a_check_without_consuming_spends_nothing() -> None:
    limiter = LocalRateLimiter(Clock())
    for _ in range(5):
        assert (await limiter.check("t", [("k", KEY)], cost=3, consume=False)).allowed
    assert (await limiter.check("t", [("k", KEY)], cost=3)).allowed


def test_a_raised_quota_applies_to_the_units_already_spent() -> None:
    _, spent = gcra([None], [KEY], now_ms=T0, cost=3)
    assert spent is not None
    bigger = Limit(name="key", quota=50, window_s=60)
    decision, _ = gcra(spent, [bigger], now_ms=T0, cost=1)
    assert decision.allowed and decision.states[0].remaining == 46


async def test_the_local_limiter_forgets_only_buckets_that_are_full_again(monkeypatch) -> None:
    monkeypatch.setattr(local_module, "MAX_BUCKETS", 2)
    clock = Clock()
    limiter = LocalRateLimiter(clock)
    await limiter.check("t", [("old", Limit(name="x", quota=1, window_s=1))])
    await limiter.check("t", [("busy", Limit(name="x", quota=1, window_s=3600))])
    clock.now += 2  # "old" has given its unit back, "busy" has not
    await limiter.check("t", [("new", KEY)])
    assert not (
        await limiter.check("t", [("busy", Limit(name="x", quota=1, window_s=3600))])
    ).allowed


def test_tenant_overrides_replace_only_the_values_they_set() -> None:
    defaults = DefaultLimits(per_key=1200, per_tenant=3000, window_s=60)
    key, tenant = key_limits(defaults, TenantLimits(per_tenant=10))
    assert (key.quota, tenant.quota, key.window_s) == (1200, 10, 60)
    assert key_limits(defaults, None) == defaults.limits()


def test_headers_follow_the_ratelimit_draft_syntax() -> None:
    decision, _ = gcra([None, None], [KEY, TENANT], now_ms=T0, cost=1)
    assert dict(rate_headers(decision)) == {
        b"ratelimit-policy": b'"key";q=3;w=60, "tenant";q=5;w=60',
        b"ratelimit": b'"key";r=2;t=20, "tenant";r=4;t=12',
    }
    refused, _ = gcra([(3.0, T0)], [KEY], now_ms=T0 + 500, cost=1)
    assert retry_after(refused) == 20  # 19.5 s, rounded up
    never, _ = gcra([None], [KEY], now_ms=T0, cost=9)
    assert dict(rate_headers(never))[b"ratelimit"] == b'"key";r=3'


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, b"203.0.113.9", "192.0.2.1"),  # no trusted proxy: the header is the caller's word
        (1, b"203.0.113.9", "203.0.113.9"),
        (1, b"198.51.100.7, 203.0.113.9", "203.0.113.9"),  # the proxy appended the last
        (2, b"198.51.100.7, 203.0.113.9", "198.51.100.7"),
        (1, b"not-an-address", "192.0.2.1"),
        (1, None, "192.0.2.1"),
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(
    hops: int, forwarded: bytes | None, expected: str
) -> None:
    headers = [] if forwarded is None else [(b"x-forwarded-for", forwarded)]
    scope = {"client": ("192.0.2.1", 50000), "headers": headers}
    assert client_address(scope, hops) == expected  # type: ignore[arg-type]


def test_the_readme_states_the_default_limits() -> None:
    from pathlib import Path

    from infra.settings import Settings

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    defaults = Settings()
    for field in (
        "rate_limit_per_key",
        "rate_limit_per_tenant",
        "rate_limit_window_s",
        "auth_failure_limit",
        "auth_failure_window_s",
        "trusted_proxy_hops",
    ):
        row = f"| `NPS_{field.upper()}` | `{getattr(defaults, field)}` |"
        assert row in readme, row
