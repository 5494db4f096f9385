"""The Redis breaker opens on a failure, probes, runs its recovery hooks, then closes."""

from __future__ import annotations

import asyncio

import redis.exceptions

from infra.redis.breaker import RedisBreaker


class FakeRedis:
    def __init__(self) -> None:
        self.up = False
        self.pings = 0

    async def ping(self) -> bool:
        self.pings += 1
        if not self.up:
            raise redis.exceptions.ConnectionError("refused")
        return True


async def test_breaker_stays_open_until_redis_answers_and_the_hooks_succeed() -> None:
    fake = FakeRedis()
    breaker = RedisBreaker(fake, retry_s=0.01)  # type: ignore[arg-type]
    calls: list[str] = []
    hook_fails = [True]

    async def hook() -> None:
        calls.append("hook")
        if hook_fails.pop(0) if hook_fails else False:
            raise redis.exceptions.ConnectionError("lost again")

    breaker.on_recovery(hook)
    assert breaker.available
    breaker.failed(redis.exceptions.TimeoutError())
    breaker.failed(redis.exceptions.TimeoutError())  # already open: one probe only
    assert not breaker.available and breaker.opened == 1
    for _ in range(200):
        if fake.pings >= 2:
            break
        await asyncio.sleep(0.01)
    assert not breaker.available and fake.pings >= 2 and calls == []
    fake.up = True
    for _ in range(100):
        if breaker.available:
            break
        await asyncio.sleep(0.01)
    assert breaker.available
    assert calls == ["hook", "hook"]  # the first run failed: it stayed open and ran again
    await breaker.close()


async def test_breaker_close_stops_its_probe() -> None:
    fake = FakeRedis()
    breaker = RedisBreaker(fake, retry_s=0.01)  # type: ignore[arg-type]
    breaker.failed()
    await breaker.close()
    pings = fake.pings
    await asyncio.sleep(0.05)
    assert fake.pings == pings and not breaker.available
