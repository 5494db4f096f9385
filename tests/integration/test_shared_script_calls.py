"""Script calls that arrive together share a round trip (infra.redis.scripts): each is
answered as if sent alone, an error reaches every call it concerns, a lost script is loaded
again, and Redis going away fails the waiting calls at once instead of one timeout each."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date

import redis.exceptions

from domain.model import ResultQuery, SegmentFilter
from domain.results import StoredHistograms
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.redis.client import connect_redis
from infra.redis.scripts import Script, hash_tag
from tests.conftest import redis_client
from tests.integration.test_counter_store import _answer, _commit, _tenant
from tests.integration.test_rate_limiter import count_round_trips


def test_the_hash_tag_is_what_picks_the_slot() -> None:
    assert hash_tag("nps:{t-1}:meta") == "t-1"
    assert hash_tag("nps:{ip:10.0.0.1}:rl:auth") == "ip:10.0.0.1"
    assert hash_tag("nps:{}:x") == "nps:{}:x"  # an empty tag is no tag
    assert hash_tag("plain") == "plain"


async def test_period_reads_arriving_together_equal_reads_alone(pool, store) -> None:
    """Three tenants, periods and segment filters read at once: the counters answer each
    exactly as PostgreSQL does, in fewer round trips than reads."""
    stored = StoredHistograms(PgUnitOfWorkFactory(pool))
    queries = []
    for t in range(3):
        tenant_id, survey_id = await _tenant(pool, store)
        answers = [
            _answer(
                tenant_id,
                survey_id,
                (i * (t + 3)) % 11,
                date(2026, 1 + i % 12, 1 + i % 28),
                {"team": "abc"[i % 3]},
            )
            for i in range(120)
        ]
        rows = await _commit(pool, answers)
        gen = await store.expected_gen(tenant_id)
        assert gen is not None and await store.apply(tenant_id, gen, rows)
        for segs in [(), (SegmentFilter(dimension="team", value="abc"[t]),)]:
            query = ResultQuery(
                tenant_id=tenant_id,
                survey_id=None,
                start=date(2026, 1, 1),
                end=date(2026, 12, 31),
                segments=segs,
            )
            queries.append((query, [(date(2026, 1, 1 + t), date(2026, 12 - t, 28))]))
            queries.append((query, [(date(2026, 3, 1), date(2026, 3, 31 - t))]))
    trips = count_round_trips(store.redis)
    together = await asyncio.gather(*(store.histograms(q, p) for q, p in queries * 3))
    assert trips[0] < len(queries) * 3
    for (q, p), got in zip(queries * 3, together, strict=True):
        assert got == await stored.histograms(q, p)


async def test_an_error_reaches_every_call_of_its_round_trip_and_no_other(redis_url) -> None:
    r = redis_client(redis_url)
    try:
        script = Script(r, "ratelimit.lua", shared_calls=True)
        tag = f"test-{uuid.uuid4().hex[:8]}"
        good = ([f"nps:{{{tag}}}:rl:a"], ["", 1, "1", 10, 60_000])
        bad = ([f"nps:{{{tag}}}:rl:b"], ["", 1, "1", "not a number", 60_000])
        first = asyncio.ensure_future(script(*good))
        await asyncio.sleep(0)  # under way: the next three share one round trip
        together = await asyncio.gather(
            script(*good), script(*bad), script(*good), return_exceptions=True
        )
        assert (await first)[0] == 1
        assert all(isinstance(x, redis.exceptions.ResponseError) for x in together)
        assert (await script(*good))[0] == 1  # the next round trip is whole again
    finally:
        await r.aclose()


async def test_a_script_the_server_lost_is_loaded_again(redis_url) -> None:
    r = redis_client(redis_url)
    try:
        script = Script(r, "ratelimit.lua", shared_calls=True)
        key = f"nps:{{test-{uuid.uuid4().hex[:8]}}}:rl:a"
        assert (await script([key], ["", 1, "1", 10, 60_000]))[0] == 1
        await r.script_flush()  # on a cluster: every primary (redis-py's routing)
        answers = await asyncio.gather(*(script([key], ["", 1, "1", 10, 60_000]) for _ in range(5)))
        assert [a[2] for a in answers] == [8, 7, 6, 5, 4]  # units left after each, in order
    finally:
        await r.aclose()


async def test_calls_waiting_when_redis_freezes_fail_within_one_timeout(own_redis) -> None:
    timeout = 0.5
    r = connect_redis(own_redis.url, timeout=timeout)
    try:
        script = Script(r, "ratelimit.lua", shared_calls=True)
        key = "nps:{frozen}:rl:a"
        assert (await script([key], ["", 1, "1", 10, 60_000]))[0] == 1
        with own_redis.frozen():
            started = time.monotonic()
            first = asyncio.ensure_future(script([key], ["", 1, "1", 10, 60_000]))
            await asyncio.sleep(0)
            waiting = [script([key], ["", 1, "1", 10, 60_000]) for _ in range(20)]
            done = await asyncio.gather(first, *waiting, return_exceptions=True)
            elapsed = time.monotonic() - started
        assert all(isinstance(x, redis.exceptions.TimeoutError) for x in done)
        assert elapsed < timeout + 0.4  # one timeout, not one per call
        assert (await script([key], ["", 1, "1", 10, 60_000]))[0] == 1  # back
    finally:
        await r.aclose()
