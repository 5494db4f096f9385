"""The Redis limiter: the Lua script decides as domain.ratelimit.gcra does, and while Redis
is away each process limits on its own, then rejoins Redis by itself."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import AsyncIterator

import msgspec
import pytest
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient

from api.app import create_app
from domain.keys import parse_key
from domain.ratelimit import Limit
from infra.redis.ratelimit import LocalRateLimiter, RedisRateLimiter, bucket_key
from tests.conftest import make_tenant, redis_client


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    r = redis_client(redis_url)
    yield r
    await r.aclose()


async def test_the_lua_script_decides_exactly_as_the_python_rule(redis) -> None:
    rng = random.Random(13)
    clock = Clock()
    shared, local = RedisRateLimiter(redis, clock=clock), LocalRateLimiter(clock)
    tag = f"test-{secrets.token_hex(4)}"
    refused = 0
    for step in range(400):
        quota_a = 5 if step < 200 else 9  # a changed limit applies to the units spent
        buckets = [
            ("a", Limit(name="a", quota=quota_a, window_s=7)),
            ("b", Limit(name="b", quota=13, window_s=60)),
        ]
        cost, consume = rng.choice([1, 1, 1, 2, 5, 14]), rng.random() > 0.2
        got = await shared.check(tag, buckets, cost=cost, consume=consume)
        want = await local.check(tag, buckets, cost=cost, consume=consume)
        assert got == want, step
        refused += not got.allowed
        clock.now += rng.choice([0.0, 0.001, 0.3, 1.4, 1.4000001, 4.6, 30.0])
    assert 50 < refused < 350  # both sides of the limit were exercised


def count_round_trips(redis) -> list[int]:
    """Wraps this client's execute_command: the number of EVALSHA calls it sends so far."""
    trips = [0]
    send = redis.execute_command

    async def counting(*args, **options):
        trips[0] += args[0] == "EVALSHA"
        return await send(*args, **options)

    redis.execute_command = counting
    return trips


async def test_checks_arriving_together_share_calls_and_decide_as_in_a_row(redis) -> None:
    """Two tenants' checks at once: a single server takes both in one round trip, a
    cluster one per tenant (slot); either way each check is decided as if alone, in order."""
    rng = random.Random(29)
    clock = Clock()
    shared, local = RedisRateLimiter(redis, clock=clock), LocalRateLimiter(clock)
    trips = count_round_trips(redis)
    tags = [f"test-{secrets.token_hex(4)}" for _ in range(2)]
    for _ in range(5):
        checks = [
            (
                rng.choice(tags),
                [("k", Limit(name="k", quota=40, window_s=10)), (f"o{rng.randrange(3)}", _ONE)],
                rng.choice([1, 1, 2, 3, 50]),
                rng.random() > 0.1,
            )
            for _ in range(60)
        ]
        got = await asyncio.gather(
            *(shared.check(t, b, cost=cost, consume=consume) for t, b, cost, consume in checks)
        )
        want = [
            await local.check(t, b, cost=cost, consume=consume) for t, b, cost, consume in checks
        ]
        assert list(got) == want
        clock.now += 0.7
    # Per round and tenant: the first check alone, then the others together.
    assert trips[0] <= 20
    assert any(not d.allowed for d in want) and any(d.allowed for d in want)


_ONE = Limit(name="o", quota=25, window_s=5)


async def test_a_check_cancelled_while_waiting_leaves_the_others_answered(redis) -> None:
    limiter = RedisRateLimiter(redis)
    tag = f"test-{secrets.token_hex(4)}"
    limit = [("k", Limit(name="k", quota=100, window_s=3600))]  # no unit back meanwhile
    checks = [asyncio.create_task(limiter.check(tag, limit)) for _ in range(10)]
    await asyncio.sleep(0)
    checks[3].cancel()
    done = await asyncio.gather(*checks, return_exceptions=True)
    assert isinstance(done[3], asyncio.CancelledError)
    answered = [d for i, d in enumerate(done) if i != 3]
    assert all(d.allowed for d in answered)
    # Each answered check saw one unit more spent than the one before it; the cancelled
    # check's unit was spent too (it had been sent), as with a call of its own.
    remaining = {d.states[0].remaining for d in answered}
    assert len(remaining) == 9 and remaining <= set(range(90, 100))
    after = await limiter.check(tag, limit)
    assert after.allowed and after.states[0].remaining == 89


async def test_buckets_of_one_check_share_a_cluster_slot_and_expire(redis) -> None:
    limiter = RedisRateLimiter(redis)
    tag = f"test-{secrets.token_hex(4)}"
    await limiter.check(tag, [("key:1", Limit(name="key", quota=10, window_s=60))], cost=2)
    key = bucket_key(tag, "key:1")
    assert key.startswith(f"nps:{{{tag}}}:")
    assert 0 < await redis.pttl(key) <= 13_000  # 2 units back after 12 s, plus a second


async def test_without_redis_each_process_limits_alone_then_rejoins(
    settings, own_redis, admin_headers
) -> None:
    config = msgspec.structs.replace(
        settings, redis_url=own_redis.url, rate_limit_per_key=3, rate_limit_per_tenant=100
    )
    async with AsyncTestClient(app=create_app(config), base_url="http://nps.test") as client:
        tenant = await make_tenant(client, admin_headers)
        own_redis.stop()
        codes = [
            (await client.get("/v1/surveys", headers=tenant.headers)).status_code for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        own_redis.start()  # back, and empty
        await asyncio.sleep(config.redis_retry_s + 0.2)
        r = await client.get("/v1/surveys", headers=tenant.headers)
        for _ in range(50):  # the Redis breaker's probe rejoins it (a local 429 consumes nothing)
            if r.status_code == 200:
                break
            await asyncio.sleep(0.1)
            r = await client.get("/v1/surveys", headers=tenant.headers)
        assert r.status_code == 200 and r.headers["RateLimit"].startswith('"key";r=2;')
        parsed = parse_key(tenant.key)
        assert parsed is not None
        back = aioredis.Redis.from_url(own_redis.url)
        try:
            assert await back.exists(bucket_key(tenant.id, f"key:{parsed.key_id}")) == 1
        finally:
            await back.aclose()


async def test_a_frozen_redis_costs_at_most_its_timeout_then_limits_stay_local(
    settings, own_redis, admin_headers
) -> None:
    config = msgspec.structs.replace(
        settings, redis_url=own_redis.url, rate_limit_per_key=3, rate_limit_per_tenant=100
    )
    async with AsyncTestClient(app=create_app(config), base_url="http://nps.test") as client:
        tenant = await make_tenant(client, admin_headers)
        assert (await client.get("/v1/surveys", headers=tenant.headers)).status_code == 200
        with own_redis.frozen():  # alive, but answers nothing
            started = time.monotonic()
            codes = [
                (await client.get("/v1/surveys", headers=tenant.headers)).status_code
                for _ in range(4)
            ]
            elapsed = time.monotonic() - started
        # The local limiter knows nothing of the unit spent in Redis: 3 more pass, then 429.
        assert codes == [200, 200, 200, 429]
        # No request waits for Redis longer than its timeout (here all but the first skip it).
        assert elapsed < 4 * config.redis_timeout_s + 1.0
