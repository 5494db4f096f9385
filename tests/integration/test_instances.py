"""Two independent API instances on one PostgreSQL and one Redis: background jobs run once.

Each instance is a whole app with its own lifespan: its pools, batcher, drainer, counter
keeper and webhook relay, as two servers on two machines would have.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from api.app import create_app
from infra.followup_deadlines import announce_overdue
from infra.postgres.pool import create_pool
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.redis import layout
from tests.conftest import POOLED, make_tenant, nps_total, redis_client
from tests.integration.webhooks_support import make_hook

ANSWERS = 30


@contextlib.asynccontextmanager
async def two_instances(settings) -> AsyncIterator[tuple[AsyncTestClient, AsyncTestClient]]:  # type: ignore[no-untyped-def]
    running = msgspec.structs.replace(settings, webhook_relay=True, drain_interval_s=0.2)
    async with (
        AsyncTestClient(app=create_app(running), base_url="http://a.test") as a,
        AsyncTestClient(app=create_app(running), base_url="http://b.test") as b,
    ):
        yield a, b


def _rebuilds() -> float:
    return REGISTRY.get_sample_value("nps_counter_rebuilds_total", {"outcome": "done"}) or 0.0


async def test_each_webhook_event_is_delivered_once_by_two_relays(
    settings, admin_headers, receiver
) -> None:
    async with two_instances(settings) as (a, b):
        tenant = await make_tenant(a, admin_headers)
        await make_hook(a, tenant, receiver, events=("response.created",))
        r = await a.post(
            "/v1/surveys", json={"name": "S", "kind": "relational"}, headers=tenant.headers
        )
        survey = r.json()["id"]

        async def answer(i: int) -> None:
            client = (a, b)[i % 2]
            sent = await client.post(
                "/v1/responses", json={"survey_id": survey, "score": i % 11}, headers=tenant.headers
            )
            assert sent.status_code == 201, sent.text

        await asyncio.gather(*(answer(i) for i in range(ANSWERS)))
        async with asyncio.timeout(30):
            await receiver.wait_for(ANSWERS)
        await asyncio.sleep(1.0)  # time for a second delivery, were there one
        hooks = (await a.get("/v1/webhooks", headers=tenant.headers)).json()["data"]
        await a.patch(
            f"/v1/webhooks/{hooks[0]['id']}", json={"enabled": False}, headers=tenant.headers
        )
    ids = receiver.ids()
    assert len(ids) == ANSWERS
    assert [n for n in Counter(ids).values() if n > 1] == []


async def test_lost_counters_are_rebuilt_once_by_two_instances(
    settings, admin_headers, redis_url
) -> None:
    async with two_instances(settings) as (a, b):
        tenant = await make_tenant(a, admin_headers)
        r = await a.post(
            "/v1/surveys", json={"name": "S", "kind": "relational"}, headers=tenant.headers
        )
        survey = r.json()["id"]
        batch = [{"survey_id": survey, "score": s % 11} for s in range(50)]
        r = await a.post("/v1/responses/batch", json={"responses": batch}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        before = _rebuilds()
        redis = redis_client(redis_url)
        meta = layout.meta_key(uuid.UUID(tenant.id))
        try:
            await redis.delete(meta)  # this tenant's counters lost
            totals = await asyncio.gather(*(nps_total(c, tenant) for c in (a, b, a, b)))
            assert totals == [50] * 4  # from PostgreSQL while the rebuild runs
            async with asyncio.timeout(30):  # done: it also unlinked the old generation
                while _rebuilds() == before:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            assert await redis.hget(meta, "state") == b"ready"
        finally:
            await redis.aclose()
        await asyncio.sleep(1.0)  # a second rebuild, were one scheduled, would finish
        assert _rebuilds() == before + 1
        assert [await nps_total(c, tenant) for c in (a, b)] == [50, 50]


async def test_an_overdue_case_is_announced_once_by_two_processes(
    app_client, tenant, survey_id, database_url, receiver
) -> None:
    await make_hook(app_client, tenant, receiver, events=("followup.overdue",))
    r = await app_client.post(
        "/v1/responses", json={"survey_id": survey_id, "score": 1}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    pools = [await create_pool(database_url, size=2, transaction_pooler=POOLED) for _ in range(2)]
    try:
        tenant_id = uuid.UUID(tenant.id)
        await pools[0].execute(
            "UPDATE followups SET due_at = now() - interval '1 hour' WHERE tenant_id = $1",
            tenant_id,
        )
        now = datetime.now(UTC)
        await asyncio.gather(
            *(announce_overdue(PgUnitOfWorkFactory(p), now=now) for p in pools for _ in range(3))
        )
        events = await pools[0].fetchval(
            "SELECT count(*) FROM webhook_events WHERE tenant_id = $1 AND type = $2",
            tenant_id,
            "followup.overdue",
        )
        await pools[0].execute(  # its receiver stops with the test
            "UPDATE webhook_endpoints SET enabled = false WHERE tenant_id = $1", tenant_id
        )
    finally:
        for p in pools:
            await p.close()
    assert events == 1
