"""Live counters against real PostgreSQL and Redis: apply once, refuse stale, rebuild, verify."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
import msgspec
import pytest
import redis.asyncio as aioredis
import redis.exceptions

from domain.model import ResultQuery, SegmentFilter
from domain.results import StoredHistograms
from infra.counter_sync import OutboxDrainer, keeper, rebuild, verify
from infra.postgres.outbox import OutboxRow, delete_outbox, to_outbox_row
from infra.postgres.pool import create_pool
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.redis import layout
from infra.redis.counters import REBUILDING, RedisCounterStore
from tests.conftest import POOLED, migrated_database, redis_client
from tests.integration.redis_server import RedisProcess

YEAR = (date(2026, 1, 1), date(2026, 12, 31))
SCAN = 10_000  # the shared Redis holds other tests' keys: walk it in few steps


class Ans(msgspec.Struct, frozen=True):
    survey: uuid.UUID
    day: date
    score: int
    segments: dict[str, str] = {}


class Tenant(msgspec.Struct, frozen=True):
    id: uuid.UUID
    surveys: tuple[uuid.UUID, ...]


@pytest.fixture(scope="session")
async def counters_db(server_urls: tuple[str, str]) -> AsyncIterator[str]:
    """A database of this module's own: the app's background drainer never touches it."""
    async with migrated_database(server_urls[0], "nps_counters") as url:
        yield url


@pytest.fixture
async def pool(counters_db: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(counters_db, size=12, transaction_pooler=POOLED)
    yield p
    await p.close()


class Env:
    """The servers of one test; every tenant it makes has its Redis keys deleted afterwards."""

    def __init__(self, pool: asyncpg.Pool, rds: aioredis.Redis) -> None:
        self.pool, self.rds = pool, rds
        self.store = RedisCounterStore(rds)
        self.made: list[uuid.UUID] = []


@pytest.fixture
async def env(pool: asyncpg.Pool, redis_url: str) -> AsyncIterator[Env]:
    rds = redis_client(redis_url)
    e = Env(pool, rds)
    yield e
    for tenant_id in e.made:
        await _lose_tenant(rds, tenant_id)
    await rds.aclose()
    # No rows left behind: the next test's drainer passes see only that test's tenants.
    await pool.execute("DELETE FROM counter_outbox WHERE tenant_id = ANY($1::uuid[])", e.made)


async def _lose_tenant(rds: aioredis.Redis, tenant_id: uuid.UUID) -> None:
    """Redis forgets the tenant: meta and every key go in one atomic DEL."""
    keys = [
        key async for key in rds.scan_iter(match=f"{layout.tenant_prefix(tenant_id)}*", count=SCAN)
    ]
    await rds.delete(layout.meta_key(tenant_id), *keys)


async def _tenant(env: Env, store: RedisCounterStore | None = None, surveys: int = 2) -> Tenant:
    """A tenant with surveys in PostgreSQL and fresh counters (ready, empty)."""
    t = Tenant(uuid.uuid4(), tuple(uuid.uuid4() for _ in range(surveys)))
    now = datetime.now(UTC)
    async with env.pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO tenants (id, name, timezone) VALUES ($1, 'T', 'UTC')", t.id)
        for sid in t.surveys:
            await conn.execute(
                "INSERT INTO surveys (tenant_id, id, name, kind, created_at, updated_at)"
                " VALUES ($1, $2, 'S', 'relational', $3, $3)",
                t.id,
                sid,
                now,
            )
    env.made.append(t.id)
    await (store or env.store).init_tenant(t.id)
    return t


_WRITE = """
WITH stored AS (
    INSERT INTO responses (tenant_id, id, survey_id, score, segments, answered_at, received_at,
                           local_date)
    SELECT $1, gen_random_uuid(), u.survey_id, u.score, u.segments, u.at, u.at, u.day
    FROM unnest($2::uuid[], $3::int2[], $4::jsonb[], $5::timestamptz[], $6::date[])
         AS u(survey_id, score, segments, at, day)
    RETURNING tenant_id, id, survey_id, local_date, score, segments
)
INSERT INTO counter_outbox (tenant_id, response_id, survey_id, local_date, score, segments, delta)
SELECT tenant_id, id, survey_id, local_date, score, segments, 1 FROM stored
RETURNING id, xid::text AS xid, tenant_id, response_id, survey_id, local_date, score,
          segments, delta
"""


async def _write(pool: asyncpg.Pool, tenant: Tenant, answers: list[Ans]) -> list[OutboxRow]:
    """What the writer does: answers and their outbox rows in one transaction."""
    at = [datetime(a.day.year, a.day.month, a.day.day, 12, tzinfo=UTC) for a in answers]
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            _WRITE,
            tenant.id,
            [a.survey for a in answers],
            [a.score for a in answers],
            [a.segments for a in answers],
            at,
            [a.day for a in answers],
        )
    return [to_outbox_row(r) for r in rows]


async def _exclude(pool: asyncpg.Pool, tenant: Tenant, response_id: uuid.UUID) -> list[OutboxRow]:
    """Exclude one answer: the flag and a -1 outbox row in one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "UPDATE responses SET excluded = true WHERE tenant_id = $1 AND id = $2"
            " AND NOT excluded RETURNING survey_id, local_date, score, segments",
            tenant.id,
            response_id,
        )
        if row is None:
            return []
        out = await conn.fetchrow(
            "INSERT INTO counter_outbox (tenant_id, response_id, survey_id, local_date, score,"
            " segments, delta) VALUES ($1, $2, $3, $4, $5, $6, -1) RETURNING id,"
            " xid::text AS xid, tenant_id, response_id, survey_id, local_date, score,"
            " segments, delta",
            tenant.id,
            response_id,
            *row.values(),
        )
    return [to_outbox_row(out)]


async def _applied_and_deleted(
    pool: asyncpg.Pool, store: RedisCounterStore, gen: int | None, rows: list[OutboxRow]
) -> bool:
    """The writer after commit: apply with the generation read before, then delete."""
    if gen is None or not rows or not await store.apply(rows[0].tenant_id, gen, rows):
        return False
    async with pool.acquire() as conn:
        await delete_outbox(conn, rows[0].tenant_id, [r.id for r in rows])
    store.deleted(rows[0].tenant_id, gen, {r.xid for r in rows})
    return True


def _q(
    tenant: Tenant,
    *,
    survey_id: uuid.UUID | None = None,
    start: date = YEAR[0],
    end: date = YEAR[1],
    segments: tuple[SegmentFilter, ...] = (),
) -> ResultQuery:
    return ResultQuery(
        tenant_id=tenant.id, survey_id=survey_id, start=start, end=end, segments=segments
    )


def _seg(dimension: str, value: str) -> tuple[SegmentFilter, ...]:
    return (SegmentFilter(dimension=dimension, value=value),)


async def _tenant_keys(rds: aioredis.Redis, tenant_id: uuid.UUID) -> dict[bytes, object]:
    """Every key of the tenant with its content (to prove that nothing changed)."""
    out: dict[bytes, object] = {}
    async for key in rds.scan_iter(match=f"{layout.tenant_prefix(tenant_id)}*", count=SCAN):
        kind = (await rds.type(key)).decode()
        out[key] = await (rds.hgetall(key) if kind == "hash" else rds.smembers(key))
    return out


async def _outbox_count(pool: asyncpg.Pool, tenant: Tenant) -> int:
    return int(
        await pool.fetchval("SELECT count(*) FROM counter_outbox WHERE tenant_id = $1", tenant.id)
    )


async def _counted(pool: asyncpg.Pool, tenant: Tenant) -> int:
    sql = "SELECT count(*) FROM responses WHERE tenant_id = $1 AND NOT excluded"
    return int(await pool.fetchval(sql, tenant.id))


def _mixed_answers(tenant: Tenant, n: int, seed: int) -> list[Ans]:
    rnd = random.Random(seed)
    odd = "a:b=c *?[x]"  # values may hold any character
    return [
        Ans(
            tenant.surveys[i % len(tenant.surveys)],
            YEAR[0] + timedelta(days=rnd.randrange(365)),
            rnd.randint(0, 10),
            {"team": rnd.choice(["a", "b", odd]), "region": rnd.choice("xy")} if i % 4 else {},
        )
        for i in range(n)
    ]


async def test_apply_counts_an_answer_in_every_key_it_belongs_to(env: Env) -> None:
    t = await _tenant(env)
    sid = t.surveys[0]
    gen = await env.store.expected_gen(t.id)
    rows = await _write(env.pool, t, [Ans(sid, date(2026, 11, 22), 9, {"team": "a", "r": "x"})])
    assert await _applied_and_deleted(env.pool, env.store, gen, rows)
    prefix = f"nps:{{{t.id}}}:g{gen}:"
    expected = {
        f"{prefix}h:{scope}:{bucket}:{seg}".encode()
        for scope in (str(sid), "all")
        for bucket in ("d20261122", "m202611")
        for seg in ("_", "team=a", "r=x")
    }
    stored = await _tenant_keys(env.rds, t.id)
    assert {key for key in stored if b":h:" in key} == expected
    assert all(stored[key] == {b"9": b"1"} for key in expected)
    assert stored[f"{prefix}dims".encode()] == {b"team", b"r"}
    assert stored[f"{prefix}v:team".encode()] == {b"a"}
    assert await _outbox_count(env.pool, t) == 0


async def test_counter_reads_equal_postgres_for_periods_filters_and_breakdowns(env: Env) -> None:
    t = await _tenant(env)
    answers = _mixed_answers(t, 400, seed=1)
    gen = await env.store.expected_gen(t.id)
    for start in range(0, len(answers), 50):
        rows = await _write(env.pool, t, answers[start : start + 50])
        assert await _applied_and_deleted(env.pool, env.store, gen, rows)
    db = StoredHistograms(PgUnitOfWorkFactory(env.pool))
    periods = [
        YEAR,
        (date(2026, 2, 14), date(2026, 4, 3)),  # month-spanning: days, a month, days
        (date(2026, 3, 1), date(2026, 3, 31)),
        (date(2026, 6, 30), date(2026, 7, 1)),
        (date(2025, 12, 1), date(2026, 1, 15)),
        (date(2026, 5, 5), date(2026, 5, 5)),
    ]
    filters = [(), _seg("team", "b"), _seg("team", "a:b=c *?[x]"), _seg("region", "nope")]
    for survey in (None, t.surveys[1]):
        for segments in filters:
            q = _q(t, survey_id=survey, segments=segments)
            assert await env.store.histograms(q, periods) == await db.histograms(q, periods)
        for start, end in [*periods[:4], YEAR]:
            q = _q(t, survey_id=survey, start=start, end=end)
            assert await env.store.breakdown(q, "team") == await db.breakdown(q, "team")
        q = _q(t, survey_id=survey, start=date(2026, 2, 10), segments=_seg("team", "a"))
        assert await env.store.breakdown(q, "team") == await db.breakdown(q, "team")
    (year,) = await env.store.histograms(_q(t), [YEAR]) or [()]
    assert sum(year) == 400
    assert len(await env.store.breakdown(_q(t), "team") or {}) == 3


async def test_counters_refuse_what_postgres_must_answer(env: Env) -> None:
    t = await _tenant(env)
    two = _q(t, segments=(*_seg("team", "a"), *_seg("region", "x")))
    with pytest.raises(ValueError):
        await env.store.histograms(two, [YEAR])
    with pytest.raises(ValueError):
        await env.store.breakdown(_q(t, segments=_seg("region", "x")), "team")


async def test_applying_the_same_rows_twice_counts_them_once(env: Env) -> None:
    t = await _tenant(env)
    sid = t.surveys[0]
    gen = await env.store.expected_gen(t.id)
    assert gen is not None
    rows = await _write(env.pool, t, [Ans(sid, date(2026, 4, 2), s) for s in (10, 10, 3)])
    assert await env.store.apply(t.id, gen, rows)
    before = await _tenant_keys(env.rds, t.id)
    assert await env.store.apply(t.id, gen, rows)  # a retry: accepted, changes nothing
    assert await _tenant_keys(env.rds, t.id) == before
    more = await _write(env.pool, t, [Ans(sid, date(2026, 4, 3), 0)])
    assert await env.store.apply(t.id, gen, rows + more)  # only `more` is new
    (hist,) = await env.store.histograms(_q(t), [YEAR]) or [()]
    assert (hist[10], hist[3], hist[0], sum(hist)) == (2, 1, 1, 4)


async def test_apply_with_a_wrong_generation_or_while_rebuilding_is_refused(env: Env) -> None:
    t = await _tenant(env)
    gen = await env.store.expected_gen(t.id)
    assert gen is not None
    rows = await _write(env.pool, t, [Ans(t.surveys[0], date(2026, 4, 2), 8, {"team": "a"})])
    before = await _tenant_keys(env.rds, t.id)
    assert not await env.store.apply(t.id, gen + 1, rows)
    assert not await env.store.apply(t.id, gen, rows, state=REBUILDING)
    after = await _tenant_keys(env.rds, t.id)
    meta = layout.meta_key(t.id).encode()
    # Nothing counted; the counters are marked behind once per refusal (the rows wait).
    assert after.pop(meta) == {**before.pop(meta), b"behind": b"2"}
    assert after == before
    assert await env.store.histograms(_q(t), [YEAR]) is None  # readers ask PostgreSQL
    await env.store.set_meta(t.id, expect_state="", expect_gen=None, state=REBUILDING, gen=gen)
    assert not await env.store.apply(t.id, gen, rows)
    assert await env.store.expected_gen(t.id) is None  # the cached generation is forgotten
    assert await env.store.histograms(_q(t), [YEAR]) is None
    assert await env.store.breakdown(_q(t), "team") is None
    meta = layout.meta_key(t.id).encode()
    after = await _tenant_keys(env.rds, t.id)
    assert {x: v for x, v in after.items() if x != meta} == {
        x: v for x, v in before.items() if x != meta
    }
    assert await _outbox_count(env.pool, t) == 1  # the refused row waits in the outbox
    await rebuild(env.pool, env.store, t.id)
    assert await verify(env.pool, env.store, [t.id]) == []
    (hist,) = await env.store.histograms(_q(t), [YEAR]) or [()]
    assert sum(hist) == 1


async def test_rebuild_after_redis_lost_the_tenant_restores_exact_counters(env: Env) -> None:
    asked: list[uuid.UUID] = []
    pending: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def hook(tenant_id: uuid.UUID) -> asyncio.Future[None]:
        asked.append(tenant_id)
        return pending

    store = RedisCounterStore(env.rds, on_rebuild_needed=hook)
    t = await _tenant(env, store)
    old = await store.expected_gen(t.id)
    rows = await _write(env.pool, t, _mixed_answers(t, 120, seed=5))
    assert await _applied_and_deleted(env.pool, store, old, rows)
    await _lose_tenant(env.rds, t.id)
    assert await store.histograms(_q(t), [YEAR]) is None
    assert await store.breakdown(_q(t), "team") is None
    assert await store.expected_gen(t.id) is None
    late = await _write(env.pool, t, _mixed_answers(t, 7, seed=6))
    assert not await store.apply(t.id, old or 0, late)  # refused: stays in the outbox
    assert asked == [t.id]  # one rebuild asked for while it is pending
    pending.set_result(None)
    await asyncio.sleep(0)
    assert await store.histograms(_q(t), [YEAR]) is None
    assert asked == [t.id, t.id]
    gen = await rebuild(env.pool, store, t.id)
    assert gen is not None and old is not None and gen > old
    assert await verify(env.pool, store, [t.id]) == []
    assert not [
        x async for x in env.rds.scan_iter(match=f"{layout.gen_prefix(t.id, old)}*", count=SCAN)
    ]
    assert await _outbox_count(env.pool, t) == 0
    db = StoredHistograms(PgUnitOfWorkFactory(env.pool))
    periods = [YEAR, (date(2026, 3, 15), date(2026, 8, 2))]
    assert await store.histograms(_q(t), periods) == await db.histograms(_q(t), periods)
    assert sum((await store.histograms(_q(t), [YEAR]) or [()])[0]) == 127


async def test_a_rebuild_asked_for_while_one_runs_is_run_again_after_it(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis loses the tenant just after a rebuild flipped it ready, and the read that
    notices asks for a rebuild while that one is still finishing: it is not dropped."""
    t = await _tenant(env)
    await _write(env.pool, t, _mixed_answers(t, 30, seed=9))
    await _lose_tenant(env.rds, t.id)
    rebuilder = keeper.CounterKeeper(env.pool, env.store, concurrency=1)
    real, calls = keeper.rebuild, []

    async def rebuild_then_lose(*args: object, **kwargs: object) -> int | None:
        calls.append(t.id)
        gen = await real(*args, **kwargs)  # type: ignore[arg-type]
        if len(calls) == 1:
            await _lose_tenant(env.rds, t.id)
            rebuilder.schedule(t.id)
        return gen

    monkeypatch.setattr(keeper, "rebuild", rebuild_then_lose)
    rebuilder.schedule(t.id)
    for _ in range(100):
        if not rebuilder.scheduled:
            break
        await asyncio.sleep(0.05)
    await rebuilder.close()
    assert calls == [t.id, t.id]
    assert await verify(env.pool, env.store, [t.id]) == []
    assert await _counted(env.pool, t) == 30


async def test_rebuilding_a_tenant_without_answers_ends_ready_and_empty(env: Env) -> None:
    t = await _tenant(env)
    await _lose_tenant(env.rds, t.id)
    gen = await rebuild(env.pool, env.store, t.id)
    assert await env.store.meta(t.id) == ("ready", gen)
    assert list(await _tenant_keys(env.rds, t.id)) == [layout.meta_key(t.id).encode()]
    assert await env.store.histograms(_q(t), [YEAR]) == [(0,) * 11]
    assert await verify(env.pool, env.store, [t.id]) == []


async def _drained(pool: asyncpg.Pool, tenant: Tenant, *, within_s: float = 10.0) -> None:
    for _ in range(int(within_s / 0.05)):
        if await _outbox_count(pool, tenant) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the drainer left outbox rows behind")


@pytest.mark.slow
async def test_concurrent_writers_rebuilds_and_drainer_neither_lose_nor_double(env: Env) -> None:
    """Writers apply after commit with the generation read before it, while Redis loses the
    tenant twice and two rebuilds run; in the end every counter equals PostgreSQL."""
    t = await _tenant(env, surveys=3)
    stop = asyncio.Event()
    outcome = {"applied": 0, "left": 0}

    async def writer(seed: int) -> None:
        rnd, mine = random.Random(seed), []
        while not stop.is_set():
            gen = await env.store.expected_gen(t.id)  # read before the transaction commits
            if mine and rnd.random() < 0.05:
                rows = await _exclude(env.pool, t, rnd.choice(mine))
            else:
                answers = _mixed_answers(t, rnd.randint(1, 4), seed=rnd.randrange(10**9))
                rows = await _write(env.pool, t, answers)
                mine += [r.response_id for r in rows]
            applied = await _applied_and_deleted(env.pool, env.store, gen, rows)
            outcome["applied" if applied else "left"] += 1

    async def chaos() -> None:
        await asyncio.sleep(0.5)
        await _lose_tenant(env.rds, t.id)
        await rebuild(env.pool, env.store, t.id)  # waits if the drainer got there first
        await asyncio.sleep(0.5)
        await rebuild(env.pool, env.store, t.id)  # counters ready, under load
        await asyncio.sleep(0.5)
        await _lose_tenant(env.rds, t.id)  # this time the drainer notices and rebuilds
        await asyncio.sleep(0.7)
        stop.set()

    drainer = asyncio.create_task(OutboxDrainer(env.pool, env.store, interval=0.05).run())
    try:
        await asyncio.gather(chaos(), *(writer(seed) for seed in range(6)))
        await _drained(env.pool, t)
    finally:
        drainer.cancel()
    assert outcome["applied"] > 100 and outcome["left"] > 0
    assert await verify(env.pool, env.store, [t.id]) == []
    (total,) = await env.store.histograms(_q(t), [YEAR]) or [()]
    assert sum(total) == await _counted(env.pool, t) > 300


async def test_redis_stopped_mid_ingest_then_restarted_empty_is_rebuilt_by_drainer(
    env: Env,
) -> None:
    server = RedisProcess()
    server.start()
    own = aioredis.Redis.from_url(server.url, socket_timeout=1, socket_connect_timeout=1)
    store = RedisCounterStore(own)
    drainer = OutboxDrainer(env.pool, store)
    try:
        t = await _tenant(env, store)
        gen = await store.expected_gen(t.id)
        rows = await _write(env.pool, t, _mixed_answers(t, 30, seed=8))
        assert await _applied_and_deleted(env.pool, store, gen, rows)
        server.stop()
        failures = 0
        for seed in range(5):
            rows = await _write(env.pool, t, _mixed_answers(t, 4, seed=seed))
            try:
                await _applied_and_deleted(env.pool, store, gen, rows)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                failures += 1
        assert failures == 5
        assert await _outbox_count(env.pool, t) == 20
        assert await drainer.drain_once() == 0  # logs, keeps the rows, does not crash
        assert await _outbox_count(env.pool, t) == 20
        server.start()  # back, and empty
        await drainer.drain_once()
        assert (await store.meta(t.id))[0] == "ready"
        assert await _outbox_count(env.pool, t) == 0
        assert await verify(env.pool, store, [t.id]) == []
        (total,) = await store.histograms(_q(t), [YEAR]) or [()]
        assert sum(total) == 50
    finally:
        await own.aclose()
        server.close()


async def test_verify_reports_tampered_extra_and_missing_counters(env: Env) -> None:
    t = await _tenant(env)
    gen = await env.store.expected_gen(t.id)
    answers = [Ans(t.surveys[0], date(2026, 4, d), 7, {"team": "a"}) for d in (1, 2)]
    assert await _applied_and_deleted(env.pool, env.store, gen, await _write(env.pool, t, answers))
    assert await verify(env.pool, env.store, [t.id]) == []
    tampered = layout.hist_key(t.id, gen or 0, "all", "m202604", "_")
    await env.rds.hincrby(tampered, "7", 1)
    diffs = await verify(env.pool, env.store, [t.id])
    assert len(diffs) == 1 and tampered in diffs[0]
    await env.rds.hincrby(tampered, "7", -1)
    extra = layout.hist_key(t.id, gen or 0, "all", "d20260101", "_")
    await env.rds.hincrby(extra, "3", 1)
    await env.rds.srem(layout.values_key(t.id, gen or 0, "team"), "a")
    diffs = await verify(env.pool, env.store, [t.id])
    assert len(diffs) == 2 and extra in diffs[0] and "'a' missing" in diffs[1]
    await env.rds.delete(layout.meta_key(t.id))
    assert await verify(env.pool, env.store, [t.id]) == [
        f"tenant {t.id}: counters not built yet (reads come from PostgreSQL)"
    ]


async def test_drainer_rebuilds_a_rebuilding_tenant_only_once_its_rebuilder_is_gone(
    env: Env,
) -> None:
    t = await _tenant(env)
    await _write(env.pool, t, _mixed_answers(t, 12, seed=9))  # committed, never applied
    stale = 10**12
    await env.store.set_meta(t.id, expect_state="", expect_gen=None, state=REBUILDING, gen=stale)
    drainer = OutboxDrainer(env.pool, env.store)
    lock = f"nps-rebuild:{t.id}"
    # A live rebuilder elsewhere holds the lock (in an open transaction, as rebuilds do).
    async with env.pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", lock)
        await drainer.drain_once()
        assert await env.store.meta(t.id) == (REBUILDING, stale)
    await drainer.drain_once()  # the rebuilder died: its lock is free, meta still rebuilding
    state, gen = await env.store.meta(t.id)
    assert state == "ready" and gen != stale
    assert await verify(env.pool, env.store, [t.id]) == []


async def test_applied_transactions_leave_the_applied_set_after_their_rows_are_deleted(
    env: Env,
) -> None:
    t = await _tenant(env)
    env.store.forget_after_s = 0.0
    gen = await env.store.expected_gen(t.id)
    for seed in range(3):
        rows = await _write(env.pool, t, _mixed_answers(t, 3, seed=seed))
        assert await _applied_and_deleted(env.pool, env.store, gen, rows)
    assert await env.rds.scard(layout.applied_key(t.id, gen or 0)) == 3
    await OutboxDrainer(env.pool, env.store).drain_once()
    assert await env.rds.scard(layout.applied_key(t.id, gen or 0)) == 0
    assert await verify(env.pool, env.store, [t.id]) == []


async def test_applied_counters_equal_a_naive_expansion_of_every_answer(env: Env) -> None:
    """The script's own expansion and summing give what expanding each answer gives."""
    from collections import Counter

    from domain.periods import day_key, month_key

    rnd = random.Random(7)
    tenant_id, gen = uuid.uuid4(), 3
    env.made.append(tenant_id)
    await env.store.set_meta(tenant_id, expect_state="-", expect_gen=None, state="ready", gen=gen)
    surveys = [uuid.uuid4(), uuid.uuid4()]
    values = ["a", "b", "Zürich = Nord", 'quote " and \\ slash', "日本"]
    rows = [
        OutboxRow(
            id=i,
            xid=str(1000 + i % 3),
            tenant_id=tenant_id,
            survey_id=rnd.choice(surveys),
            local_date=date(2026, rnd.choice([1, 2]), rnd.choice([1, 15, 28])),
            score=rnd.randrange(11),
            segments={d: rnd.choice(values) for d in rnd.sample(["team", "region", "plan"], 2)},
            delta=rnd.choice([1, 1, 1, -1]),
        )
        for i in range(300)
    ]
    assert await env.store.apply(tenant_id, gen, rows)
    expected: Counter[tuple[str, str]] = Counter()
    dims: dict[str, set[str]] = {}
    for r in rows:
        segs = ["_", *(f"{d}={v}" for d, v in r.segments.items())]
        for d, v in r.segments.items():
            dims.setdefault(d, set()).add(v)
        for scope in (str(r.survey_id), "all"):
            for bucket in (day_key(r.local_date), month_key(r.local_date.year, r.local_date.month)):
                for seg in segs:
                    expected[
                        (layout.hist_key(tenant_id, gen, scope, bucket, seg), str(r.score))
                    ] += r.delta
    got: Counter[tuple[str, str]] = Counter()
    async for key in env.rds.scan_iter(match=f"{layout.gen_prefix(tenant_id, gen)}h:*", count=SCAN):
        for field, n in (await env.rds.hgetall(key)).items():
            got[(key.decode(), field.decode())] += int(n)
    assert got == Counter({key: n for key, n in expected.items() if n})
    assert {m.decode() for m in await env.rds.smembers(layout.dims_key(tenant_id, gen))} == set(
        dims
    )
    for d, vs in dims.items():
        members = await env.rds.smembers(layout.values_key(tenant_id, gen, d))
        assert {m.decode() for m in members} == vs
    # Applying the same transactions again changes nothing.
    assert await env.store.apply(tenant_id, gen, rows)
    again: Counter[tuple[str, str]] = Counter()
    async for key in env.rds.scan_iter(match=f"{layout.gen_prefix(tenant_id, gen)}h:*", count=SCAN):
        for field, n in (await env.rds.hgetall(key)).items():
            again[(key.decode(), field.decode())] += int(n)
    assert again == got
