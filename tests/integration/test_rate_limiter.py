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
from tests.integration.redis_server import RedisProcess


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


async def test_buckets_of_one_check_share_a_cluster_slot_and_expire(redis) -> None:
    limiter = RedisRateLimiter(redis)
    tag = f"test-{secrets.token_hex(4)}"
    await limiter.check(tag, [("key:1", Limit(name="key", quota=10, window_s=60))], cost=2)
    key = bucket_key(tag, "key:1")
    assert key.startswith(f"nps:{{{tag}}}:")
    assert 0 < await redis.pttl(key) <= 13_000  # 2 units back after 12 s, plus a second


@pytest.fixture
async def own_redis() -> AsyncIterator[RedisProcess]:
    server = RedisProcess()
    server.start()
    try:
        yield server
    finally:
        server.close()


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
