"""The fault suite under load: a real API process, 16 concurrent clients posting answers for a
few seconds, while the path to PostgreSQL or Redis is frozen or cut, Redis loses its data,
or the API is killed. Each case: no acknowledged answer is lost, every other answer is a 503
with Retry-After within the bound, retries with the same Idempotency-Key store nothing twice,
reads are exact, the service recovers by itself, and `nps counters verify` exits 0."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from tests.conftest import ADMIN_TOKEN
from tests.fault.harness import ROOT, ApiProcess, LoadResult, post_load

STATEMENT_TIMEOUT_S = 1.0
# A write is answered within its deadline (the statement timeout) plus at least 1 s of group
# commit; the rest is slack for a machine shared by the whole test run.
BOUND_S = STATEMENT_TIMEOUT_S + 1.0 + 1.5
LOAD_S = 4.0


@pytest.fixture
def env(fault_db, pg_proxy, own_redis, redis_proxy) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "NPS_DATABASE_URL": pg_proxy.url(fault_db),
        "NPS_REDIS_URL": redis_proxy.url(own_redis.url),
        "NPS_ADMIN_TOKEN": ADMIN_TOKEN,
        "NPS_DB_STATEMENT_TIMEOUT_S": str(STATEMENT_TIMEOUT_S),
        "NPS_DB_CONNECT_TIMEOUT_S": "1.0",
        "NPS_REDIS_TIMEOUT_S": "0.5",
        "NPS_REDIS_RETRY_S": "0.2",
        "NPS_DRAIN_INTERVAL_S": "0.2",
        "NPS_WEBHOOK_RELAY": "0",
        "NPS_RATE_LIMITS": "0",
        "NPS_LOG_LEVEL": "error",
    }


@pytest.fixture
async def api(env) -> AsyncIterator[ApiProcess]:  # type: ignore[no-untyped-def]
    server = await asyncio.to_thread(ApiProcess(env).start)
    yield server
    await asyncio.to_thread(server.stop)


async def _tenant(base: str) -> tuple[str, str, str]:
    """(tenant id, key, survey id) of a fresh tenant."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        r = await http.post("/v1/admin/tenants", json={"name": "Load"}, headers=admin)
        tenant = r.json()["id"]
        r = await http.post(
            f"/v1/admin/tenants/{tenant}/keys",
            json={"name": "load", "scopes": ["responses:write", "results:read", "manage"]},
            headers=admin,
        )
        key = r.json()["key"]
        r = await http.post(
            "/v1/surveys",
            json={"name": "S", "kind": "relational"},
            headers={"Authorization": f"Bearer {key}"},
        )
        return tenant, key, r.json()["id"]


async def _settle(
    base: str, key: str, result: LoadResult, fault_db: str, tenant: str, *, cut: bool = False
) -> None:
    """After the fault: retry every 503 with its key, then check nothing is lost or doubled,
    reads are exact, and verify exits 0."""
    assert result.other == [], result.other[:5]
    print(
        f"{result.requests} requests: {len(result.acked)} acknowledged,"
        f" {len(result.unavailable)} answered 503 (slowest {result.slowest_503_s:.2f} s)"
    )
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for idem, body, _, _ in result.unavailable:
            for _ in range(50):
                r = await http.post(
                    "/v1/responses", json=body, headers={**headers, "Idempotency-Key": idem}
                )
                if r.status_code != 503:
                    break
                await asyncio.sleep(0.2)
            assert r.status_code == 201, r.text  # stored now, or the stored one replayed
            result.acked[idem] = r.json()["id"]
        conn = await asyncpg.connect(fault_db)
        try:
            stored = await conn.fetchval(
                "SELECT count(*) FROM responses WHERE tenant_id = $1", uuid.UUID(tenant)
            )
            found = await conn.fetchval(
                "SELECT count(*) FROM responses WHERE id = ANY($1::uuid[])",
                [uuid.UUID(x) for x in result.acked.values()],
            )
        finally:
            await conn.close()
        assert found == len(result.acked)  # no acknowledged answer lost
        # None stored twice (retries included); a request cut by a kill may have been
        # stored without its answer reaching the client.
        assert stored >= len(result.acked) if cut else stored == len(result.acked)
        for _ in range(5):  # exact at once and on every read after
            r = await http.get("/v1/nps", headers=headers)
            assert r.status_code == 200 and r.json()["total"] == stored
    await _verify_exits_0(fault_db)


async def _verify_exits_0(fault_db: str, env_redis: str | None = None) -> None:
    env = {
        "NPS_DATABASE_URL": fault_db,
        "NPS_REDIS_URL": env_redis or _REDIS[0],
        "NPS_LOG_LEVEL": "error",
    }
    code, out = 2, ""
    for _ in range(20):  # "not built yet" (2) while the background rebuild runs
        proc = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "api.cli", "counters", "verify"],
            cwd=ROOT,
            env=os.environ | env | {"PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        code, out = proc.returncode, proc.stdout + proc.stderr
        if code != 2:
            break
        await asyncio.sleep(0.5)
    assert code == 0, out


_REDIS: list[str] = []


@pytest.fixture(autouse=True)
def _redis_for_verify(own_redis) -> None:  # type: ignore[no-untyped-def]
    _REDIS[:] = [own_redis.url]


async def test_postgres_frozen_under_load(api, pg_proxy, fault_db) -> None:
    tenant, key, survey = await _tenant(api.base)

    async def fault() -> None:
        await asyncio.sleep(1.0)
        pg_proxy.freeze()
        await asyncio.sleep(2.0)
        pg_proxy.restore()

    result, _ = await asyncio.gather(post_load(api.base, key, survey, seconds=LOAD_S), fault())
    assert result.unavailable and result.acked, (len(result.unavailable), len(result.acked))
    assert result.slowest_503_s < BOUND_S, result.slowest_503_s
    await _settle(api.base, key, result, fault_db, tenant)


async def test_postgres_cut_under_load(api, pg_proxy, fault_db) -> None:
    tenant, key, survey = await _tenant(api.base)

    async def fault() -> None:
        await asyncio.sleep(1.0)
        pg_proxy.cut()
        await asyncio.sleep(1.5)
        pg_proxy.restore()

    result, _ = await asyncio.gather(post_load(api.base, key, survey, seconds=LOAD_S), fault())
    assert result.unavailable and result.acked
    assert result.slowest_503_s < BOUND_S, result.slowest_503_s
    await _settle(api.base, key, result, fault_db, tenant)


@pytest.mark.parametrize("fault_kind", ["freeze", "cut"])
async def test_redis_away_under_load_answers_everything(
    api, redis_proxy, fault_db, fault_kind: str
) -> None:
    tenant, key, survey = await _tenant(api.base)
    headers = {"Authorization": f"Bearer {key}"}
    reads: list[int] = []
    began = time.monotonic()

    async def fault() -> None:
        await asyncio.sleep(1.0)
        getattr(redis_proxy, fault_kind)()
        await asyncio.sleep(1.5)
        async with httpx.AsyncClient(base_url=api.base, timeout=30) as http:
            start = time.monotonic()
            ready = await http.get("/health/ready")
            assert time.monotonic() - start < 1.0
            assert ready.status_code == 200 and ready.json()["redis"] == "down"
        redis_proxy.restore()
        async with httpx.AsyncClient(base_url=api.base, timeout=30) as http:
            for _ in range(10):  # reads while the backlog is applied
                reads.append((await http.get("/v1/nps", headers=headers)).status_code)
                await asyncio.sleep(0.05)

    result, _ = await asyncio.gather(post_load(api.base, key, survey, seconds=LOAD_S), fault())
    assert result.unavailable == []  # Redis away costs no answer
    before = result.acked_between(began + 0.2, began + 1.0)
    during = result.acked_between(began + 1.3, began + 2.5)
    print(f"answers/s: {before:.0f} before, {during:.0f} while Redis was away")
    assert during > 0.3 * before  # at full speed (noise of a shared machine allowed for)
    assert reads == [200] * 10
    await _settle(api.base, key, result, fault_db, tenant)


async def test_redis_loses_its_data_and_every_tenant_is_rebuilt_without_a_read(
    api, own_redis, fault_db
) -> None:
    tenants = [await _tenant(api.base) for _ in range(3)]
    for _, key, survey in tenants:
        result = await post_load(api.base, key, survey, seconds=0.5, concurrency=4)
        assert result.acked and not result.other
    flusher = aioredis.Redis.from_url(own_redis.url)
    try:
        await flusher.flushall()
        for _ in range(100):  # no read: the keeper rebuilds them by itself
            metas = [await flusher.hget(f"nps:{{{t}}}:meta", "state") for t, _, _ in tenants]
            if metas == [b"ready"] * 3:
                break
            await asyncio.sleep(0.1)
        assert metas == [b"ready"] * 3
    finally:
        await flusher.aclose()
    await _verify_exits_0(fault_db)


async def test_api_killed_mid_load_loses_no_acknowledged_answer(api, env, fault_db) -> None:
    tenant, key, survey = await _tenant(api.base)

    result, stop = LoadResult(), asyncio.Event()

    async def kill() -> None:
        # Mid-load means after answers were acknowledged, however slowly the clients start.
        waited = time.monotonic() + 30
        while len(result.acked) < 30 and time.monotonic() < waited:  # noqa: ASYNC110 (a count)
            await asyncio.sleep(0.02)
        await asyncio.to_thread(api.kill)
        await asyncio.sleep(0.5)  # the clients meet the dead server, then stop
        stop.set()

    await asyncio.gather(
        post_load(api.base, key, survey, seconds=60, result=result, stop=stop), kill()
    )
    assert result.acked
    result.other = [o for o in result.other if o[0] != 0]  # cut connections: not acknowledged
    restarted = ApiProcess(env)
    restarted.port, restarted.base = api.port, api.base
    await asyncio.to_thread(restarted.start)
    try:
        # Requests cut by the kill were never answered: the client retries them with their
        # key (some may have been stored; the key tells), here the acknowledged ones suffice.
        await _settle(api.base, key, result, fault_db, tenant, cut=True)
    finally:
        await asyncio.to_thread(restarted.stop)


async def test_verify_under_live_load_finds_exact_counters_and_a_planted_difference(
    api, own_redis, fault_db
) -> None:
    """verify runs while 16 clients post: exact each time, and a counter changed behind the
    service's back is reported as a difference all the same."""
    from infra.counter_sync.verify import verify_report
    from infra.postgres.pool import create_pool
    from infra.redis import layout
    from infra.redis.counters import RedisCounterStore

    tenant, key, survey = await _tenant(api.base)
    tenant_id = uuid.UUID(tenant)
    pool = await create_pool(fault_db, size=2, statement_timeout=60)
    rds = aioredis.Redis.from_url(own_redis.url)
    store = RedisCounterStore(rds)
    reports = []

    async def verify_meanwhile() -> None:
        await asyncio.sleep(0.5)
        for _ in range(3):
            reports.append(await verify_report(pool, store, [tenant_id]))
        gen = (await store.meta(tenant_id))[1]
        planted = layout.hist_key(tenant_id, gen or 0, "all", "d20200101", "_")
        await rds.hincrby(planted, "5", 1)
        reports.append(await verify_report(pool, store, [tenant_id]))
        await rds.delete(planted)

    try:
        result, _ = await asyncio.gather(
            post_load(api.base, key, survey, seconds=LOAD_S), verify_meanwhile()
        )
    finally:
        await rds.aclose()
        await pool.close()
    assert len(result.acked) > 100
    assert [(r.differences, r.not_built) for r in reports[:3]] == [([], [])] * 3
    assert len(reports[3].differences) == 1 and "d20200101" in reports[3].differences[0]
    await _settle(api.base, key, result, fault_db, tenant)
