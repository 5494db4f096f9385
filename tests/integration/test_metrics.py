"""GET /metrics: admin only, Prometheus text, and every family moves when its event happens."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from pathlib import Path

import asyncpg
import msgspec
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from infra import metrics
from infra.counter_sync import rebuild
from infra.redis.counters import RedisCounterStore
from tests.conftest import make_tenant, migrated_database, redis_client
from tests.integration.webhooks_support import make_hook, relay, send_test

README = Path(__file__).resolve().parents[2] / "README.md"
OUTBOX_ROW = """
INSERT INTO counter_outbox (tenant_id, survey_id, local_date, score, segments, delta, created_at)
VALUES ($1, $2, current_date, 9, '{}', $3, now() - $4 * interval '1 second')
"""


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


async def scrape(client, admin_headers) -> str:  # type: ignore[no-untyped-def]
    r = await client.get("/metrics", headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return str(r.text)


async def test_metrics_need_the_admin_token(app_client, tenant) -> None:
    assert (await app_client.get("/metrics")).status_code == 401
    assert (await app_client.get("/metrics", headers=tenant.headers)).status_code == 401


async def test_requests_are_counted_by_route_template_and_status(
    app_client, admin_headers, tenant, survey_id
) -> None:
    name = "nps_http_request_duration_seconds_count"
    route = {"method": "GET", "route": "/v1/surveys/{survey_id}"}
    before = await scrape(app_client, admin_headers)
    await app_client.get(f"/v1/surveys/{survey_id}", headers=tenant.headers)
    await app_client.get(f"/v1/surveys/{uuid.uuid4()}", headers=tenant.headers)
    await app_client.get("/no/such/path")
    after = await scrape(app_client, admin_headers)
    for status in ("200", "404"):
        assert value(after, name, **route, status=status) == (
            value(before, name, **route, status=status) + 1
        )
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(after, name, **unmatched) == value(before, name, **unmatched) + 1
    assert survey_id not in after  # templates, never ids
    bucket = "nps_http_request_duration_seconds_bucket"
    assert value(after, bucket, **route, status="200", le="+Inf") >= 1


async def test_group_commits_count_their_rows_and_time(
    app_client, admin_headers, tenant, survey_id
) -> None:
    before = await scrape(app_client, admin_headers)
    r = await app_client.post(
        "/v1/responses/batch",
        json={"responses": [{"survey_id": survey_id, "score": s} for s in (1, 9, 10)]},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    after = await scrape(app_client, admin_headers)
    for name in ("nps_ingest_batch_rows_count", "nps_ingest_flush_seconds_count"):
        assert value(after, name) >= value(before, name) + 1
    assert (
        value(after, "nps_ingest_batch_rows_sum") >= value(before, "nps_ingest_batch_rows_sum") + 3
    )
    assert value(after, "nps_ingest_flush_seconds_sum") > value(
        before, "nps_ingest_flush_seconds_sum"
    )


async def test_drained_updates_and_rebuilds_are_counted(
    app_client, admin_headers, tenant, survey_id, database_url, redis_url
) -> None:
    tenant_id = uuid.UUID(tenant.id)
    before = await scrape(app_client, admin_headers)
    conn = await asyncpg.connect(database_url)
    try:  # +1 and -1 on one bin: the drainer applies both, the counts stay equal
        for delta in (1, -1):
            await conn.execute(OUTBOX_ROW, tenant_id, uuid.UUID(survey_id), delta, 0)
    finally:
        await conn.close()
    drained = "nps_counter_outbox_drained_rows_total"
    async with asyncio.timeout(5):
        for _ in range(50):  # the drainer runs every 0.2 s
            await asyncio.sleep(0.1)
            if value(await scrape(app_client, admin_headers), drained) >= (
                value(before, drained) + 2
            ):
                break
    assert value(await scrape(app_client, admin_headers), drained) >= value(before, drained) + 2
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    r = redis_client(redis_url)
    try:
        assert await rebuild(pool, RedisCounterStore(r), tenant_id) is not None
    finally:
        await r.aclose()
        await pool.close()
    after = await scrape(app_client, admin_headers)
    done = {"outcome": "done"}
    assert value(after, "nps_counter_rebuilds_total", **done) == (
        value(before, "nps_counter_rebuilds_total", **done) + 1
    )
    assert value(after, "nps_counter_rebuild_seconds_count") >= 1


async def test_webhook_attempts_by_outcome_and_the_oldest_due_delivery(
    app_client, admin_headers, tenant, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    await send_test(app_client, tenant, hook)
    await relay_pool.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 hour'"
        " WHERE endpoint_id = $1",
        uuid.UUID(hook["id"]),
    )
    waiting = await scrape(app_client, admin_headers)
    assert value(waiting, "nps_webhook_deliveries_due") >= 1
    assert value(waiting, "nps_webhook_oldest_due_seconds") >= 3600
    assert await relay(relay_pool).run_once() >= 1
    sent = await scrape(app_client, admin_headers)
    ok = {"outcome": "succeeded"}
    assert value(sent, "nps_webhook_attempts_total", **ok) >= (
        value(waiting, "nps_webhook_attempts_total", **ok) + 1
    )
    # The due gauge counts the whole session database, where other tests' deliveries come
    # due meanwhile: this endpoint's own delivery is what must have left it.
    left = await relay_pool.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending'",
        uuid.UUID(hook["id"]),
    )
    assert left == 0


async def test_dependencies_up_and_the_oldest_unapplied_counter_update(
    server_urls, app_client, admin_headers
) -> None:
    scraped = await scrape(app_client, admin_headers)
    assert value(scraped, "nps_database_up") == 1 and value(scraped, "nps_redis_up") == 1
    # A database without a drainer: the row waits, its age shows.
    async with migrated_database(server_urls[0]) as url:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            await pool.execute(OUTBOX_ROW, uuid.uuid4(), uuid.uuid4(), 1, 3600)

            async def down() -> bool:
                return False

            async def up() -> bool:
                return True

            text = (await metrics.scrape(pool, database_up=up, redis_up=down)).decode()
        finally:
            await pool.close()
    assert value(text, "nps_counter_outbox_rows") == 1
    assert value(text, "nps_counter_outbox_oldest_seconds") >= 3600
    assert value(text, "nps_redis_up") == 0


async def test_the_readme_lists_every_metric_family(app_client, admin_headers) -> None:
    readme = README.read_text()
    section = readme.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    names = {
        f.name
        for f in text_string_to_metric_families(await scrape(app_client, admin_headers))
        if f.name.startswith("nps_")
    }
    assert len(names) >= 13
    missing = [n for n in names if f"`{n}`" not in section and f"`{n}_total`" not in section]
    assert not missing, missing


async def test_rate_limit_refusals_are_counted_by_limit(settings, admin_headers) -> None:
    limits = {"rate_limit_per_key": 2, "rate_limit_window_s": 3600, "trusted_proxy_hops": 1}
    app = create_app(msgspec.structs.replace(settings, **limits))
    address = {"X-Forwarded-For": f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"}
    async with AsyncTestClient(app=app, base_url="http://nps.test") as client:
        client.headers.update(address)
        tenant = await make_tenant(client, admin_headers)
        before = await scrape(client, admin_headers)
        codes = [
            (await client.get("/v1/surveys", headers=tenant.headers)).status_code for _ in range(3)
        ]
        after = await scrape(client, admin_headers)
    assert codes == [200, 200, 429]
    key = {"limit": "key"}
    assert value(after, "nps_rate_limited_total", **key) == (
        value(before, "nps_rate_limited_total", **key) + 1
    )
