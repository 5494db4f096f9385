"""Redis cut or frozen: answers are stored at full speed without it, results come exact
from PostgreSQL, it is probed and rejoined by itself, and no read undercounts after it
returns (the changes that waited in the outbox are applied before the counters are used)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import make_tenant, nps_total, verify_tenant
from tests.fault.conftest import REDIS_TIMEOUT_S


async def _survey(client, tenant) -> str:  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/surveys", json={"name": "S", "kind": "relational"}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _post(client, tenant, sid: str, n: int) -> float:  # type: ignore[no-untyped-def]
    """Post n answers one by one; returns the slowest answer's seconds."""
    slowest = 0.0
    for i in range(n):
        start = time.monotonic()
        r = await client.post(
            "/v1/responses",
            json={"survey_id": sid, "score": i % 11, "segments": {"team": f"t{i % 3}"}},
            headers=tenant.headers,
        )
        slowest = max(slowest, time.monotonic() - start)
        assert r.status_code == 201, r.text
    return slowest


async def _exact_until_verified(client, tenant, expected: int, fault_db, redis_url) -> int:  # type: ignore[no-untyped-def]
    """Read the NPS again and again until verify finds the counters exact; every read must
    count every acknowledged answer. Returns the number of reads."""
    for reads in range(1, 201):
        assert await nps_total(client, tenant) == expected
        if reads >= 5 and not await verify_tenant(fault_db, redis_url, tenant.id):
            return reads
    raise AssertionError("the counters did not become exact")


@pytest.mark.parametrize("fault", ["freeze", "cut"])
async def test_redis_away_writes_at_full_speed_reads_exact_and_it_rejoins(
    client, admin_headers, redis_proxy, own_redis, fault_db, fault: str
) -> None:
    tenant = await make_tenant(client, admin_headers)
    sid = await _survey(client, tenant)
    await _post(client, tenant, sid, 10)
    getattr(redis_proxy, fault)()
    try:
        await _post(client, tenant, sid, 1)  # finds Redis away (a frozen one: its timeout)
        slowest = await _post(client, tenant, sid, 30)
        assert slowest < REDIS_TIMEOUT_S, slowest  # no answer waits for Redis any more
        start = time.monotonic()
        assert await nps_total(client, tenant) == 41  # from PostgreSQL
        r = await client.get(
            "/v1/nps/breakdown", params={"dimension": "team"}, headers=tenant.headers
        )
        assert sum(g["total"] for g in r.json()["groups"]) == 41
        assert time.monotonic() - start < 2 * REDIS_TIMEOUT_S
        ready = await client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["redis"] == "down"
        assert ready.json()["status"] == "degraded"
    finally:
        redis_proxy.restore()
    await _exact_until_verified(client, tenant, 41, fault_db, own_redis.url)
    for _ in range(50):
        if (await client.get("/health/ready")).json()["redis"] == "up":
            break
        await asyncio.sleep(0.1)
    assert (await client.get("/health/ready")).json()["status"] == "ok"
    runtime = client.app.state.runtime
    assert runtime.breaker.available and runtime.breaker.opened >= 1


async def test_no_read_undercounts_while_the_backlog_of_an_outage_is_applied(
    client, admin_headers, redis_proxy, own_redis, fault_db
) -> None:
    """Answers acknowledged while Redis was cut wait in the outbox; when Redis returns with
    its old counters, reads keep counting them until the drainer has applied them."""
    tenant = await make_tenant(client, admin_headers)
    sid = await _survey(client, tenant)
    await _post(client, tenant, sid, 20)
    assert await nps_total(client, tenant) == 20  # served by the counters
    redis_proxy.cut()
    try:
        await _post(client, tenant, sid, 25)
    finally:
        redis_proxy.restore()
    reads = await _exact_until_verified(client, tenant, 45, fault_db, own_redis.url)
    assert reads >= 5
