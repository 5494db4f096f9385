"""Small, bounded measurements docs/scaling.md builds on (besides results.json).

    .venv/bin/python -m tests.bench.scale_figures [--answers 20000 100000] [--events 1000]

- PostgreSQL bytes per answer (the responses table with its indexes, no comment).
- Redis counters per answer: loads answers shaped like the benchmark's (a year, 50 teams,
  3 regions, 3 plans, one survey), rebuilds them, counts the tenant's keys and sums
  MEMORY USAGE over all of them (one tenant per size given, each with its own survey).
- Webhook deliveries per second: one relay process (the service's WebhookRelay) sending
  test events to a receiver on 127.0.0.1 that answers 200 at once, over 1 and 10 endpoints.

Writes tests/bench/scale-figures.json and prints it. Needs the test servers
(NPS_TEST_DATABASE_URL, NPS_TEST_REDIS_URL); creates and drops its own database, and
deletes the Redis keys it made.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from litestar.testing import AsyncTestClient

from api.app import create_app
from infra.counter_sync import rebuild
from infra.postgres.pool import create_pool
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.redis import layout
from infra.redis.counters import RedisCounterStore
from infra.settings import Settings
from infra.webhooks.relay import WebhookRelay
from tests.bench.data import answer_rows, copy_answers
from tests.bench.run import drop_database, fresh_database
from tests.integration.webhooks_support import Receiver

HERE = Path(__file__).parent
ADMIN = "figures-admin"


async def counter_memory(db: str, redis_url: str, answers: int) -> dict[str, Any]:
    pool = await create_pool(db, size=4, statement_timeout=3600)
    redis = aioredis.Redis.from_url(redis_url)
    tenant, survey = uuid.uuid4(), uuid.uuid4()
    try:
        await pool.execute(
            "INSERT INTO tenants (id, name, timezone, created_at) VALUES ($1, 'f', 'UTC', now())",
            tenant,
        )
        await copy_answers(pool, answer_rows(tenant, survey, answers, today=date.today()))
        await pool.execute("VACUUM ANALYZE responses")
        pg_bytes = await pool.fetchval(
            "SELECT pg_total_relation_size('responses') / greatest(count(*), 1) FROM responses"
        )
        started = time.perf_counter()
        await rebuild(pool, RedisCounterStore(redis), tenant)
        rebuild_s = time.perf_counter() - started
        keys = [key async for key in redis.scan_iter(match=f"{layout.tenant_prefix(tenant)}*")]
        total = 0
        for start in range(0, len(keys), 500):
            async with redis.pipeline(transaction=False) as pipe:
                for key in keys[start : start + 500]:
                    pipe.memory_usage(key)
                total += sum(x or 0 for x in await pipe.execute())
        for start in range(0, len(keys), 1000):
            await redis.unlink(*keys[start : start + 1000])
    finally:
        await redis.aclose()
        await pool.close()
    return {
        "answers": answers,
        "keys": len(keys),
        "bytes": total,
        "bytes_per_key": round(total / max(len(keys), 1)),
        "bytes_per_answer": round(total / answers, 1),
        "postgres_bytes_per_answer": int(pg_bytes),
        "rebuild_s": round(rebuild_s, 2),
        "rebuild_s_per_million": round(rebuild_s * 1_000_000 / answers, 1),
    }


async def deliveries_per_s(db: str, redis_url: str, events: int, endpoints: int) -> float:
    settings = Settings(
        database_url=db,
        redis_url=redis_url,
        admin_token=ADMIN,
        log_level="warning",
        webhook_allow_private=True,
        webhook_relay=False,
        rate_limits=False,
    )
    receiver = await Receiver().start()
    pool = await create_pool(db, size=8)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    try:
        async with AsyncTestClient(app=create_app(settings), base_url="http://f.test") as c:
            t = (await c.post("/v1/admin/tenants", json={"name": "w"}, headers=admin)).json()
            key = (
                await c.post(
                    f"/v1/admin/tenants/{t['id']}/keys",
                    json={"name": "w", "scopes": ["manage"]},
                    headers=admin,
                )
            ).json()["key"]
            h = {"Authorization": f"Bearer {key}"}
            hooks = [
                (
                    await c.post(
                        "/v1/webhooks",
                        json={"url": receiver.url(f"/{i}"), "events": ["webhook.test"]},
                        headers=h,
                    )
                ).json()["id"]
                for i in range(endpoints)
            ]
            for n in range(events):
                await c.post(f"/v1/webhooks/{hooks[n % endpoints]}/test", headers=h)
        relay = WebhookRelay(PgUnitOfWorkFactory(pool), allow_private=True, timeout=5.0)
        started = time.perf_counter()
        while len(receiver.received) < events:
            if not await relay.run_once():
                break
        seconds = time.perf_counter() - started
        await pool.execute("UPDATE webhook_endpoints SET enabled = false")
    finally:
        await pool.close()
        await receiver.stop()
    return round(len(receiver.received) / seconds, 1)


async def main(answers: list[int], events: int) -> int:
    base = os.environ.get("NPS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("NPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    db = await fresh_database(base)
    try:
        out = {
            "date": date.today().isoformat(),
            "cores": os.cpu_count(),
            "load_average": [round(x, 1) for x in os.getloadavg()],
            "counters": [await counter_memory(db, redis_url, n) for n in answers],
            "webhook_deliveries_per_s": {
                f"{n}_endpoints": await deliveries_per_s(db, redis_url, events, n) for n in (1, 10)
            },
        }
    finally:
        await drop_database(base, db)
    text = json.dumps(out, indent=2) + "\n"
    (HERE / "scale-figures.json").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--events", type=int, default=1000)
    ns = parser.parse_args()
    raise SystemExit(asyncio.run(main(ns.answers, ns.events)))
