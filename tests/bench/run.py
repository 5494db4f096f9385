"""`make bench` / `make bench-smoke`: every case beside its baseline, in one run, on loopback.

Writes tests/bench/results.json (or results-smoke.json) and prints the Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis.asyncio as aioredis

from infra.counter_sync import rebuild
from infra.postgres.migrate import migrate
from infra.postgres.pool import create_pool
from infra.postgres.results import AGGREGATE, AGGREGATE_TIMEOUT_S
from infra.postgres.roles import app_role_name
from infra.redis.counters import RedisCounterStore
from tests.bench.app import HGETALL_KEY
from tests.bench.data import TEAMS, answer_rows, copy_answers
from tests.bench.report import markdown
from tests.bench.rls import rls_cost
from tests.bench.themes import themes_case
from tests.bench.tools import Load, Server, combined, wrk

HERE = Path(__file__).parent
ADMIN = "bench-admin-token"
FULL = {
    "seconds": 20,
    "sizes": [100_000, 10_000_000],
    "copy_rows": 200_000,
    "comments": 50_000,
    "soak": 300,
    "rls_rounds": 200,
}
SMOKE = {
    "seconds": float(os.environ.get("NPS_BENCH_SECONDS", 2)),
    "sizes": [2_000, 20_000],
    "copy_rows": 10_000,
    "comments": 2_000,
    "soak": 4,
    "rls_rounds": 30,
}


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


async def fresh_database(base_url: str) -> str:
    name = f"nps_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(base_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = base_url.rsplit("/", 1)[0] + f"/{name}"
    conn = await asyncpg.connect(url)
    await migrate(conn)
    await conn.close()
    return url


async def drop_database(base_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(base_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'DROP ROLE IF EXISTS "{app_role_name(name)}"')
    await admin.close()


def tenant(server: Server, name: str) -> tuple[str, str, str]:
    """A tenant with an all-scopes key and one survey, through the API: (id, key, survey)."""
    auth = {"Authorization": f"Bearer {ADMIN}"}
    created = httpx.post(f"{server.base}/v1/admin/tenants", json={"name": name}, headers=auth)
    assert created.status_code == 201, created.text
    t = created.json()
    k = httpx.post(
        f"{server.base}/v1/admin/tenants/{t['id']}/keys",
        headers=auth,
        json={"name": "bench", "scopes": ["responses:write", "results:read", "manage"]},
    ).json()["key"]
    s = httpx.post(
        f"{server.base}/v1/surveys",
        json={"name": "B", "kind": "relational"},
        headers={"Authorization": f"Bearer {k}"},
    ).json()["id"]
    return t["id"], k, s


def single_ingest(
    server: Server, bare: Server, key: str, survey: str, seconds: float
) -> dict[str, Any]:
    """The no-op runs half before and half after the API, and the bare app's no-op half
    before and half after those (drift of the machine cancels out of both ratios)."""
    env = {"NPS_BENCH_KEY": key, "NPS_BENCH_SURVEY": survey, "NPS_BENCH_RUN": secrets.token_hex(3)}

    def noop_half(on: Server) -> Load:
        return wrk(f"{on.base}/bench/noop", "post_response.lua", seconds=seconds / 2, env=env)

    bare_before = noop_half(bare)
    before = noop_half(server)
    api = wrk(f"{server.base}/v1/responses", "post_response.lua", seconds=seconds, env=env)
    noop = combined([before, noop_half(server)])
    bare_noop = combined([bare_before, noop_half(bare)])
    return {
        "noop": noop.as_dict(),
        "bare_noop": bare_noop.as_dict(),
        "api": api.as_dict(),
        "ratio_rps": ratio(api.rps, noop.rps),
        "ratio_p99": ratio(api.p99_ms, noop.p99_ms),
        "bare_ratio_rps": ratio(api.rps, bare_noop.rps),
        "bare_ratio_p99": ratio(api.p99_ms, bare_noop.p99_ms),
    }


def many_tenants(
    server: Server, key: str, survey: str, seconds: float, *, count: int = 50
) -> dict[str, Any]:
    """The single-ingest load spread over `count` tenants against all of it on one tenant
    (half before, half after): per-tenant serialisation (the customer clock row) must not
    make many tenants slower than one."""
    spread = [tenant(server, f"spread-{i}") for i in range(count)]
    one_env = {"NPS_BENCH_KEY": key, "NPS_BENCH_SURVEY": survey}
    many_env = one_env | {"NPS_BENCH_TENANTS": ";".join(f"{k} {s}" for _, k, s in spread)}
    url = f"{server.base}/v1/responses"

    def one_half(run: str) -> Load:
        env = one_env | {"NPS_BENCH_RUN": run}
        return wrk(url, "post_response.lua", seconds=seconds / 2, env=env)

    before = one_half(secrets.token_hex(3))
    many = wrk(
        url, "post_response.lua", seconds=seconds, env=many_env | {"NPS_BENCH_RUN": "spread"}
    )
    one = combined([before, one_half(secrets.token_hex(3))])
    return {
        "tenants": count,
        "spread": many.as_dict(),
        "one": one.as_dict(),
        "ratio_rps": ratio(many.rps, one.rps),
        "ratio_p99": ratio(many.p99_ms, one.p99_ms),
    }


async def batch_ingest(
    server: Server, pool: asyncpg.Pool, key: str, survey: str, seconds: float, copy_rows: int
) -> dict[str, Any]:
    env = {"NPS_BENCH_KEY": key, "NPS_BENCH_SURVEY": survey}
    api = wrk(
        f"{server.base}/v1/responses/batch",
        "post_batch.lua",
        seconds=seconds,
        connections=4,
        env=env,
    )
    await pool.execute("CREATE TABLE bench_copy (LIKE responses INCLUDING ALL)")
    tid, sid = uuid.uuid4(), uuid.uuid4()
    rows = list(answer_rows(tid, sid, copy_rows, today=date.today(), seed=2))
    chunks = [iter(rows[i : i + 1000]) for i in range(0, len(rows), 1000)]
    started = time.perf_counter()
    sem = asyncio.Semaphore(4)

    async def one(chunk: Any) -> None:
        async with sem:
            await copy_answers(pool, chunk, table="bench_copy", chunk=1000)

    await asyncio.gather(*(one(c) for c in chunks))
    copy_rps = copy_rows / (time.perf_counter() - started)
    api_rows = api.rps * 1000
    return {
        "api": api.as_dict(),
        "api_rows_per_s": round(api_rows),
        "copy_rows_per_s": round(copy_rps),
        "ratio": ratio(api_rows, copy_rps),
    }


def read_paths(survey: str) -> dict[str, str]:
    today = date.today()
    d30, d90, d365 = (today.fromordinal(today.toordinal() - n) for n in (29, 89, 364))
    return {
        "nps_30d": f"/v1/nps?from={d30}&to={today}",
        "nps_90d_segment": f"/v1/nps?from={d90}&to={today}&segment=team:team-07",
        "breakdown_365d": f"/v1/nps/breakdown?dimension=team&from={d365}&to={today}",
    }


def reads_beside_hgetall(
    server: Server, bare: Server, key: str, survey: str, seconds: float
) -> dict[str, Any]:
    """Each read case between two baseline slices of half its length (one slice between
    two cases serves both), in the API's app and in the bare one: the machine's drift
    during the run cancels out of the ratios."""

    def hgetall(on: Server) -> Load:
        env = {"NPS_BENCH_PATH": "/bench/hgetall"}
        return wrk(f"{on.base}/bench/hgetall", "get.lua", seconds=seconds / 2, env=env)

    out: dict[str, Any] = {}
    slices, bare_slices = [hgetall(server)], [hgetall(bare)]
    for name, path in read_paths(survey).items():
        env = {"NPS_BENCH_KEY": key, "NPS_BENCH_PATH": path}
        got = wrk(f"{server.base}{path}", "get.lua", seconds=seconds, env=env)
        slices.append(hgetall(server))
        bare_slices.append(hgetall(bare))
        base, bare_base = combined(slices[-2:]), combined(bare_slices[-2:])
        out[name] = got.as_dict() | {
            "baseline": base.as_dict(),
            "ratio_rps": ratio(got.rps, base.rps),
            "bare_baseline": bare_base.as_dict(),
            "bare_ratio_rps": ratio(got.rps, bare_base.rps),
        }
    out["hgetall"] = combined(slices).as_dict()
    out["bare_hgetall"] = combined(bare_slices).as_dict()
    return out


def rate_limit_cost(
    limited: Server, unlimited: Server, key: str, survey: str, seconds: float
) -> dict[str, Any]:
    """GET /v1/nps on two servers of the same code, rate limits on (one check per request,
    limits never reached; checks arriving together share a Lua call) and off
    (NPS_RATE_LIMITS=0); the "off" runs half before and half after, so the machine's drift
    cancels out of the ratio."""
    path = read_paths(survey)["nps_30d"]
    env = {"NPS_BENCH_KEY": key, "NPS_BENCH_PATH": path}

    def off_half() -> Load:
        return wrk(f"{unlimited.base}{path}", "get.lua", seconds=seconds / 2, env=env)

    before = off_half()
    on = wrk(f"{limited.base}{path}", "get.lua", seconds=seconds, env=env)
    off = combined([before, off_half()])
    return {
        "on": on.as_dict(),
        "off": off.as_dict(),
        "ratio_rps": ratio(on.rps, off.rps),
        "ratio_p50": ratio(on.p50_ms, off.p50_ms),
    }


async def reads_at(
    server: Server,
    bare: Server,
    uncached: Server,
    pool: asyncpg.Pool,
    store: RedisCounterStore,
    size: int,
    seconds: float,
) -> dict[str, Any]:
    tid, key, survey = tenant(server, f"reads-{size}")
    load_s = await copy_answers(
        pool, answer_rows(uuid.UUID(tid), uuid.UUID(survey), size, today=date.today())
    )
    started = time.perf_counter()
    await rebuild(pool, store, uuid.UUID(tid))
    rebuild_s = time.perf_counter() - started
    started = time.perf_counter()
    await pool.fetch(AGGREGATE, uuid.UUID(tid), timeout=AGGREGATE_TIMEOUT_S)
    aggregate_s = time.perf_counter() - started
    out: dict[str, Any] = {
        "load_s": round(load_s, 1),
        "rebuild_s": round(rebuild_s, 2),
        "aggregate_s": round(aggregate_s, 2),
    }
    out |= reads_beside_hgetall(server, bare, key, survey, seconds)
    path = read_paths(survey)["breakdown_365d"]
    env = {"NPS_BENCH_KEY": key, "NPS_BENCH_PATH": path}
    out["breakdown_365d_uncached"] = wrk(
        f"{uncached.base}{path}", "get.lua", seconds=seconds, env=env
    ).as_dict()
    load, posted = await asyncio.gather(
        asyncio.to_thread(wrk, f"{server.base}{path}", "get.lua", seconds=seconds, env=env),
        post_meanwhile(server, key, survey, seconds),
    )
    out["breakdown_365d_ingesting"] = load.as_dict() | {"answers_posted_per_s": posted}
    out["tenant"] = tid
    return out


async def post_meanwhile(
    server: Server, key: str, survey: str, seconds: float, *, per_s: float = 20, posters: int = 4
) -> float:
    """Post answers to today (teams of the loaded data) at about per_s; returns the rate."""
    headers = {"Authorization": f"Bearer {key}"}
    started = time.perf_counter()
    posted = 0

    async def poster(client: httpx.AsyncClient, n: int) -> None:
        nonlocal posted
        sent = 0
        while time.perf_counter() - started < seconds:
            team = TEAMS[(n + posters * sent) % len(TEAMS)]
            body = {"survey_id": survey, "score": sent % 11, "segments": {"team": team}}
            (await client.post("/v1/responses", json=body)).raise_for_status()
            sent += 1
            posted += 1
            due = sent * posters / per_s - (time.perf_counter() - started)
            await asyncio.sleep(max(0.0, due))

    async with httpx.AsyncClient(base_url=server.base, headers=headers) as client:
        await asyncio.gather(*(poster(client, n) for n in range(posters)))
    return round(posted / (time.perf_counter() - started), 1)


async def soak(server: Server, key: str, survey: str, seconds: float) -> dict[str, Any]:
    env = {"NPS_BENCH_KEY": key, "NPS_BENCH_SURVEY": survey, "NPS_BENCH_RUN": "soak"}
    wrk(f"{server.base}/v1/responses", "post_response.lua", seconds=2, env=env)  # warm up
    before = server.worker_rss()
    path = read_paths(survey)["nps_30d"]
    writer = asyncio.to_thread(
        wrk,
        f"{server.base}/v1/responses",
        "post_response.lua",
        seconds=seconds,
        connections=32,
        env=env,
    )
    reader = asyncio.to_thread(
        wrk,
        f"{server.base}{path}",
        "get.lua",
        seconds=seconds,
        connections=32,
        env={"NPS_BENCH_KEY": key, "NPS_BENCH_PATH": path},
    )
    w, r = await asyncio.gather(writer, reader)
    after = server.worker_rss()
    return {
        "seconds": seconds,
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "rss_growth_pct": round(100 * (after - before) / before, 1),
        "writes": w.as_dict(),
        "reads": r.as_dict(),
    }


async def redis_bytes_per_key(redis: aioredis.Redis, tenant_id: str) -> dict[str, Any]:
    sizes = []
    async for key in redis.scan_iter(match=f"nps:{{{tenant_id}}}:g*:h:*", count=1000):
        sizes.append(await redis.memory_usage(key) or 0)
        if len(sizes) >= 2000:
            break
    return {"sampled_keys": len(sizes), "mean_bytes": round(sum(sizes) / max(len(sizes), 1))}


def machine(pg_version: str, redis_info: dict[str, Any]) -> dict[str, Any]:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "postgres": pg_version,
        "redis": redis_info.get("redis_version"),
        "date": datetime.now(UTC).date().isoformat(),
    }


async def main(smoke: bool) -> int:
    cfg = SMOKE if smoke else FULL
    base_db = os.environ.get("NPS_BENCH_DATABASE_URL") or os.environ.get(
        "NPS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    redis_url = os.environ.get("NPS_BENCH_REDIS_URL") or os.environ.get(
        "NPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"
    )
    db = await fresh_database(base_db)
    pool = await create_pool(db, size=8, statement_timeout=3600)  # aggregates, bulk loads
    redis = aioredis.Redis.from_url(redis_url)
    await redis.hset(HGETALL_KEY, mapping={str(i): i for i in range(11)})
    env = {
        "NPS_DATABASE_URL": db,
        "NPS_REDIS_URL": redis_url,
        "NPS_ADMIN_TOKEN": ADMIN,
        # Rate limits are checked on every request, as in production, but never reached.
        "NPS_RATE_LIMIT_PER_KEY": str(10**9),
        "NPS_RATE_LIMIT_PER_TENANT": str(10**9),
    }
    server = Server(env)
    uncached = Server(env | {"NPS_BENCH_BREAKDOWN_CACHE": "0"})
    unlimited = Server(env | {"NPS_RATE_LIMITS": "0"})
    bare = Server(env, target="tests.bench.bare:bare_app")  # the baselines, no middleware
    try:
        results: dict[str, Any] = {"mode": "smoke" if smoke else "full", "seconds": cfg["seconds"]}
        results["machine"] = machine(await pool.fetchval("SHOW server_version"), await redis.info())
        _, key, survey = tenant(server, "ingest")
        results["single_ingest"] = single_ingest(server, bare, key, survey, cfg["seconds"])
        results["batch_ingest"] = await batch_ingest(
            server, pool, key, survey, cfg["seconds"], cfg["copy_rows"]
        )
        results["many_tenants"] = many_tenants(server, key, survey, cfg["seconds"])
        results["rate_limit"] = rate_limit_cost(server, unlimited, key, survey, cfg["seconds"])
        store = RedisCounterStore(redis)
        results["reads"] = {
            str(n): await reads_at(server, bare, uncached, pool, store, n, cfg["seconds"])
            for n in cfg["sizes"]
        }
        big = results["reads"][str(cfg["sizes"][-1])]
        results["rebuild"] = {
            "answers": cfg["sizes"][-1],
            "rebuild_s": big["rebuild_s"],
            "aggregate_s": big["aggregate_s"],
            "ratio": ratio(big["rebuild_s"], big["aggregate_s"]),
        }
        small = results["reads"][str(cfg["sizes"][0])]
        results["row_level_security"] = await rls_cost(
            db, pool, uuid.UUID(small["tenant"]), cfg["rls_rounds"]
        ) | {"answers": cfg["sizes"][0]}
        results["redis_memory"] = await redis_bytes_per_key(redis, big["tenant"])
        tid, tkey, tsurvey = tenant(server, "themes")
        results["themes"] = await themes_case(server, pool, tkey, tsurvey, tid, cfg["comments"])
        results["soak"] = await soak(server, key, survey, cfg["soak"])
    finally:
        server.stop()
        uncached.stop()
        unlimited.stop()
        bare.stop()
        await pool.close()
        await redis.aclose()
        await drop_database(base_db, db)
    out = HERE / ("results-smoke.json" if smoke else "results.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    print(f"\nwritten to {out.relative_to(HERE.parents[1])}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="small sizes, seconds per case")
    raise SystemExit(asyncio.run(main(parser.parse_args().smoke)))
