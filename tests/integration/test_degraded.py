"""Redis down or emptied: answers are still accepted, numbers stay right, counters come back."""

from __future__ import annotations

import asyncio
import random

import msgspec
import pytest
import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient

from api.app import create_app
from tests.conftest import make_tenant, verify_tenant


@pytest.fixture
async def client(settings, own_redis):  # type: ignore[no-untyped-def]
    app = create_app(msgspec.structs.replace(settings, redis_url=own_redis.url))
    async with AsyncTestClient(app=app, base_url="http://nps.test") as c:
        yield c


async def _eventually_exact(database_url: str, redis_url: str, tenant_id: str) -> None:
    diffs: list[str] = []
    for _ in range(100):
        diffs = await verify_tenant(database_url, redis_url, tenant_id)
        if not diffs:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(diffs[:5])


async def _survey(client, tenant) -> str:  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/surveys", json={"name": "S", "kind": "relational"}, headers=tenant.headers
    )
    return str(r.json()["id"])


async def test_redis_down_answers_accepted_and_read_from_postgres(
    client, admin_headers, own_redis, database_url
) -> None:
    tenant = await make_tenant(client, admin_headers)
    sid = await _survey(client, tenant)
    for score in (10, 9, 0):
        r = await client.post(
            "/v1/responses", json={"survey_id": sid, "score": score}, headers=tenant.headers
        )
        assert r.status_code == 201
    own_redis.stop()
    for score in (10, 3):
        r = await client.post(
            "/v1/responses",
            json={"survey_id": sid, "score": score, "segments": {"team": "a"}},
            headers=tenant.headers,
        )
        assert r.status_code == 201
    body = (await client.get("/v1/nps", headers=tenant.headers)).json()
    assert (body["total"], body["promoters"], body["detractors"]) == (5, 3, 2)
    groups = (
        await client.get("/v1/nps/breakdown", params={"dimension": "team"}, headers=tenant.headers)
    ).json()["groups"]
    assert [(g["value"], g["total"]) for g in groups] == [("a", 2)]
    ready = await client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["redis"] == "down"
    own_redis.start()  # back, and empty: counters must be rebuilt from PostgreSQL
    await _eventually_exact(database_url, own_redis.url, tenant.id)
    body = (await client.get("/v1/nps", headers=tenant.headers)).json()
    assert body["total"] == 5
    for _ in range(50):  # the breaker's probe finds Redis back within its retry interval
        if (await client.get("/health/ready")).json()["redis"] == "up":
            break
        await asyncio.sleep(0.1)
    assert (await client.get("/health/ready")).json()["redis"] == "up"


async def test_redis_emptied_reads_stay_right_and_counters_are_rebuilt(
    client, admin_headers, own_redis, database_url
) -> None:
    tenant = await make_tenant(client, admin_headers)
    sid = await _survey(client, tenant)
    items = [
        {"survey_id": sid, "score": s % 11, "segments": {"team": f"t{s % 3}"}} for s in range(40)
    ]
    r = await client.post("/v1/responses/batch", json={"responses": items}, headers=tenant.headers)
    assert r.status_code == 200
    before = (await client.get("/v1/nps", headers=tenant.headers)).json()
    await aioredis.Redis.from_url(own_redis.url).flushall()
    after = (await client.get("/v1/nps", headers=tenant.headers)).json()
    assert after == before
    await _eventually_exact(database_url, own_redis.url, tenant.id)


async def test_concurrent_ingest_while_redis_is_flushed_neither_loses_nor_doubles(
    client, admin_headers, own_redis, database_url
) -> None:
    tenant = await make_tenant(client, admin_headers)
    sid = await _survey(client, tenant)
    rnd = random.Random(7)
    flusher = aioredis.Redis.from_url(own_redis.url)
    posted = 0

    async def writer(n: int) -> None:
        nonlocal posted
        for _ in range(n):
            body = {
                "survey_id": sid,
                "score": rnd.randint(0, 10),
                "segments": {"team": rnd.choice("abc")},
            }
            r = await client.post("/v1/responses", json=body, headers=tenant.headers)
            assert r.status_code == 201
            posted += 1

    async def chaos() -> None:
        for _ in range(3):
            await asyncio.sleep(0.3)
            await flusher.flushall()
            await client.get("/v1/nps", headers=tenant.headers)  # notices, schedules a rebuild

    await asyncio.gather(*[writer(60) for _ in range(6)], chaos())
    await flusher.aclose()
    await _eventually_exact(database_url, own_redis.url, tenant.id)
    body = (await client.get("/v1/nps", headers=tenant.headers)).json()
    assert body["total"] == posted == 360
