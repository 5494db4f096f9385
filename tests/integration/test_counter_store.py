"""The counter store against real Redis and PostgreSQL: once-only apply, generations, verify."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import asyncpg
import msgspec
import pytest

from domain.idempotency import IdempotencyClaim
from domain.model import ResultQuery, SegmentFilter, SurveyResponse
from domain.results import StoredHistograms
from infra.counter_sync import OutboxDrainer, rebuild, verify
from infra.ingest import IngestBatcher
from infra.postgres.ingest_sql import insert_responses
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.redis import layout
from infra.redis.counters import RedisCounterStore
from tests.conftest import redis_client


async def _tenant(pool: asyncpg.Pool, store: RedisCounterStore) -> tuple[uuid.UUID, uuid.UUID]:
    tenant_id, survey_id = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    await pool.execute(
        "INSERT INTO tenants (id, name, timezone) VALUES ($1, 'T', 'UTC')", tenant_id
    )
    await pool.execute(
        "INSERT INTO surveys (tenant_id, id, name, kind, created_at, updated_at)"
        " VALUES ($1, $2, 'S', 'relational', $3, $3)",
        tenant_id,
        survey_id,
        now,
    )
    await store.init_tenant(tenant_id)
    return tenant_id, survey_id


def _answer(
    tenant_id: uuid.UUID,
    survey_id: uuid.UUID,
    score: int,
    day: date,
    segments: dict[str, str] | None = None,
) -> SurveyResponse:
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return SurveyResponse(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        survey_id=survey_id,
        score=score,
        comment=None,
        customer_id=None,
        segments=segments or {},
        answered_at=at,
        received_at=at,
        local_date=day,
    )


async def _commit(pool: asyncpg.Pool, answers: list[SurveyResponse]):  # type: ignore[no-untyped-def]
    """Store answers and their outbox rows like the writer does, without applying them."""
    async with pool.acquire() as conn, conn.transaction():
        return (await insert_responses(conn, answers)).outbox


def _query(tenant_id: uuid.UUID, **kw) -> ResultQuery:  # type: ignore[no-untyped-def]
    return ResultQuery(
        **{
            "tenant_id": tenant_id,
            "survey_id": None,
            "start": date(2026, 1, 1),
            "end": date(2026, 12, 31),
        }
        | kw
    )


async def test_applying_the_same_rows_twice_counts_them_once(pool, store) -> None:
    tenant_id, survey_id = await _tenant(pool, store)
    rows = await _commit(pool, [_answer(tenant_id, survey_id, 10, date(2026, 4, 2))])
    gen = await store.expected_gen(tenant_id)
    assert gen is not None
    assert await store.apply(tenant_id, gen, rows)
    assert await store.apply(tenant_id, gen, rows)
    (hist,) = await store.histograms(_query(tenant_id), [(date(2026, 1, 1), date(2026, 12, 31))])
    assert hist[10] == 1


async def test_apply_with_a_stale_generation_is_refused_and_changes_nothing(pool, store) -> None:
    tenant_id, survey_id = await _tenant(pool, store)
    rows = await _commit(pool, [_answer(tenant_id, survey_id, 3, date(2026, 4, 2))])
    stale = await store.expected_gen(tenant_id)
    assert stale is not None
    new_gen = await rebuild(pool, store, tenant_id)  # counts the answer from PostgreSQL
    assert new_gen != stale
    assert not await store.apply(tenant_id, stale, rows)
    assert await store.expected_gen(tenant_id) == new_gen
    assert await verify(pool, store, [tenant_id]) == []


async def test_reads_come_from_the_counters_when_ready(pool, store) -> None:
    tenant_id, survey_id = await _tenant(pool, store)
    rows = await _commit(pool, [_answer(tenant_id, survey_id, 9, date(2026, 5, 5), {"team": "a"})])
    gen = await store.expected_gen(tenant_id)
    assert gen is not None and await store.apply(tenant_id, gen, rows)
    key = layout.hist_key(tenant_id, gen, "all", "m202605", "team=a")
    await store.redis.hincrby(key, "9", 41)  # only visible if reads use Redis
    q = _query(tenant_id, segments=(SegmentFilter(dimension="team", value="a"),))
    (hist,) = await store.histograms(q, [(date(2026, 5, 1), date(2026, 5, 31))])
    assert hist[9] == 42
    assert (await store.breakdown(_query(tenant_id), "team")) == {"a": hist}
    diffs = await verify(pool, store, [tenant_id])
    assert len(diffs) == 1 and "m202605:team=a" in diffs[0]


async def test_counters_equal_postgres_for_many_periods_and_filters(pool, store) -> None:
    tenant_id, survey_id = await _tenant(pool, store)
    answers = [
        _answer(
            tenant_id,
            survey_id,
            (i * 7) % 11,
            date(2026, 1 + i % 12, 1 + i % 28),
            {"team": "abc"[i % 3], "region": "xy"[i % 2]},
        )
        for i in range(300)
    ]
    rows = await _commit(pool, answers)
    gen = await store.expected_gen(tenant_id)
    assert gen is not None and await store.apply(tenant_id, gen, rows)
    stored_histograms = StoredHistograms(PgUnitOfWorkFactory(pool))
    periods = [
        (date(2026, 1, 1), date(2026, 12, 31)),
        (date(2026, 2, 14), date(2026, 4, 3)),
        (date(2026, 3, 1), date(2026, 3, 31)),
        (date(2026, 6, 30), date(2026, 7, 1)),
    ]
    for segs in [(), (SegmentFilter(dimension="team", value="b"),)]:
        q = _query(tenant_id, segments=segs)
        assert await store.histograms(q, periods) == await stored_histograms.histograms(q, periods)
    q = _query(tenant_id, survey_id=survey_id)
    assert await store.breakdown(q, "region") == await stored_histograms.breakdown(q, "region")
    assert await verify(pool, store, [tenant_id]) == []


async def test_rows_committed_but_never_applied_are_applied_by_the_drainer(pool, store) -> None:
    """A crash between commit and apply: the outbox keeps the rows, the drainer counts them."""
    tenant_id, survey_id = await _tenant(pool, store)
    await _commit(pool, [_answer(tenant_id, survey_id, s, date(2026, 8, 8)) for s in (10, 0, 7)])
    q = _query(tenant_id)
    (before,) = await store.histograms(q, [(q.start, q.end)])
    assert sum(before) == 0
    await OutboxDrainer(pool, store).drain_once()
    (after,) = await store.histograms(q, [(q.start, q.end)])
    assert (after[10], after[0], after[7]) == (1, 1, 1)
    left = await pool.fetchval(
        "SELECT count(*) FROM counter_outbox WHERE tenant_id = $1", tenant_id
    )
    assert left == 0
    assert await verify(pool, store, [tenant_id]) == []


async def test_lost_meta_means_not_ready_and_asks_for_a_rebuild(pool, redis_url) -> None:
    asked: list[uuid.UUID] = []
    r = redis_client(redis_url)
    store = RedisCounterStore(r, on_rebuild_needed=asked.append)
    try:
        tenant_id, survey_id = await _tenant(pool, store)
        await _commit(pool, [_answer(tenant_id, survey_id, 8, date(2026, 9, 9))])
        await r.delete(layout.meta_key(tenant_id))
        q = _query(tenant_id)
        assert await store.histograms(q, [(q.start, q.end)]) is None
        assert asked == [tenant_id]
        assert await verify(pool, store, [tenant_id]) == [
            f"tenant {tenant_id}: counters not built yet (reads come from PostgreSQL)"
        ]
        await rebuild(pool, store, tenant_id)
        assert await verify(pool, store, [tenant_id]) == []
        (hist,) = await store.histograms(q, [(q.start, q.end)])
        assert hist[8] == 1
    finally:
        await r.aclose()


async def test_batch_killed_mid_write_acknowledges_and_counts_nothing(pool, store) -> None:
    """The connection dies inside the group-commit transaction: no answer is stored or counted,
    and nothing that rides in the same transaction (cases, customer stamps, the request's
    Idempotency-Key claim) exists either."""
    tenant_id, survey_id = await _tenant(pool, store)
    batcher = IngestBatcher(pool, store)
    answers = [
        msgspec.structs.replace(
            _answer(tenant_id, survey_id, 10 if i % 2 else 2, date(2026, 10, 1)),
            customer_id=f"c{i}",
        )
        for i in range(500)
    ]

    async def kill_writer() -> int:
        """Terminate the backend running the batch insert, once it waits on the lock."""
        for _ in range(500):
            await asyncio.sleep(0.01)
            n = await pool.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND query LIKE '%WITH input AS%' AND wait_event_type = 'Lock'"
            )
            if n:
                return int(n)
        return 0

    holder = await pool.acquire()
    held = holder.transaction()  # a transaction's lock: safe behind a transaction pooler
    await held.start()
    await holder.execute("SELECT pg_advisory_xact_lock(42)")  # the insert waits here until killed
    killer = asyncio.create_task(kill_writer())
    try:
        with pytest.raises(Exception):  # noqa: B017 - any driver error: nothing acknowledged
            await _slow_ingest(pool, batcher, tenant_id, answers, idempotency=_completion("k"))
    finally:
        await held.rollback()
        await pool.release(holder)
    assert await killer == 1
    for table in ("responses", "followups", "customers", "idempotency_keys"):
        left = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE tenant_id = $1", tenant_id)
        assert left == 0, table
    assert await verify(pool, store, [tenant_id]) == []
    q = _query(tenant_id)
    (hist,) = await store.histograms(q, [(q.start, q.end)])
    assert sum(hist) == 0
    await batcher.close()


async def test_one_group_commit_of_many_tenants_counts_each_and_leaves_no_outbox(
    pool, store
) -> None:
    """Answers of five tenants submitted at once share group commits: each tenant's counters
    get exactly its answers, and every applied outbox row is deleted."""
    tenants = [await _tenant(pool, store) for _ in range(5)]
    batcher = IngestBatcher(pool, store)
    day = date(2026, 10, 1)
    try:
        await asyncio.gather(
            *(
                batcher.ingest(t, [_answer(t, s, (n + i) % 11, day)])
                for n, (t, s) in enumerate(tenants)
                for i in range(n + 1)
            )
        )
    finally:
        await batcher.close()
    ids = [t for t, _ in tenants]
    left = await pool.fetchval(
        "SELECT count(*) FROM counter_outbox WHERE tenant_id = ANY($1::uuid[])", ids
    )
    assert left == 0
    for n, tenant_id in enumerate(ids):
        q = _query(tenant_id)
        (hist,) = await store.histograms(q, [(q.start, q.end)])
        assert sum(hist) == n + 1
    assert await verify(pool, store, ids) == []


def _completion(key: str) -> IdempotencyClaim:
    return IdempotencyClaim(key=key, request_hash=b"h" * 32)


async def _slow_ingest(pool, batcher, tenant_id, answers, idempotency=None):  # type: ignore[no-untyped-def]
    """Ingest while a trigger makes the batch's insert wait on an advisory lock."""
    await pool.execute(
        "CREATE OR REPLACE FUNCTION nps_test_wait() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN PERFORM pg_advisory_xact_lock_shared(42); RETURN NEW; END $$"
    )
    trigger = f"nps_test_wait_{tenant_id.hex}"
    await pool.execute(
        f"CREATE TRIGGER {trigger} BEFORE INSERT ON counter_outbox FOR EACH ROW"
        f" WHEN (NEW.tenant_id = '{tenant_id}') EXECUTE FUNCTION nps_test_wait()"
    )
    try:
        return await batcher.ingest(tenant_id, answers, idempotency=idempotency)
    finally:
        await pool.execute(f"DROP TRIGGER IF EXISTS {trigger} ON counter_outbox")


async def test_a_repeated_breakdown_is_served_from_cache_only_while_counters_are_unchanged(
    pool, store
) -> None:
    tenant_id, survey_id = await _tenant(pool, store)
    day = date(2026, 6, 6)
    gen = await store.expected_gen(tenant_id)
    assert gen is not None
    first = [_answer(tenant_id, survey_id, 9, day, {"team": "a"})]
    assert await store.apply(tenant_id, gen, await _commit(pool, first))
    q = _query(tenant_id)
    before = await store.breakdown(q, "team")
    assert before is not None and before["a"][9] == 1
    # A change that bypasses apply (so the counters' tag stays): the cached answer is used.
    await store.redis.hincrby(layout.hist_key(tenant_id, gen, "all", "m202606", "team=a"), "9", 5)
    assert await store.breakdown(q, "team") == before
    # Every apply changes the tag: the next breakdown is computed again, exactly.
    more = [_answer(tenant_id, survey_id, 2, day, {"team": "b"})]
    assert await store.apply(tenant_id, gen, await _commit(pool, more))
    after = await store.breakdown(q, "team")
    assert after is not None and after["a"][9] == 6 and after["b"][2] == 1
    # A rebuild starts a new generation: its answer comes from PostgreSQL's truth.
    await rebuild(pool, store, tenant_id)
    rebuilt = await store.breakdown(q, "team")
    assert rebuilt is not None and rebuilt["a"][9] == 1 and rebuilt["b"][2] == 1
    assert rebuilt == await StoredHistograms(PgUnitOfWorkFactory(pool)).breakdown(q, "team")


async def test_a_cached_breakdown_reads_again_only_the_groups_whose_buckets_changed(
    pool, store
) -> None:
    """Older buckets are one group, the two newest one group each: an apply to the newest
    re-reads only that one; a backdated apply re-reads the older group; every answer equals
    PostgreSQL's."""
    tenant_id, survey_id = await _tenant(pool, store)
    gen = await store.expected_gen(tenant_id)
    assert gen is not None
    q = _query(tenant_id, start=date(2026, 3, 1), end=date(2026, 6, 30))  # m03 m04 | m05 | m06
    pg = StoredHistograms(PgUnitOfWorkFactory(pool))

    async def add(day: date, team: str, score: int) -> None:
        rows = await _commit(pool, [_answer(tenant_id, survey_id, score, day, {"team": team})])
        assert await store.apply(tenant_id, gen, rows)

    await add(date(2026, 3, 3), "a", 9)
    await add(date(2026, 6, 6), "b", 2)
    first = await store.breakdown(q, "team")
    assert first == await pg.breakdown(q, "team")
    # A write that bypasses apply leaves the versions as they were: only a re-read shows it.
    older = layout.hist_key(tenant_id, gen, "all", "m202604", "team=a")
    await store.redis.hincrby(older, "9", 100)
    await add(date(2026, 6, 7), "a", 10)  # the newest group changes, the older one does not
    second = await store.breakdown(q, "team")
    assert second is not None and second["a"][9] == 1 and second["a"][10] == 1
    assert second == await pg.breakdown(q, "team")
    await store.redis.hincrby(older, "9", -100)
    await add(date(2026, 4, 1), "c", 7)  # backdated: the older group is read again
    third = await store.breakdown(q, "team")
    assert third is not None and third["c"][7] == 1
    assert third == await pg.breakdown(q, "team")
    one = _query(
        tenant_id, start=q.start, end=q.end, segments=(SegmentFilter(dimension="team", value="a"),)
    )
    assert await store.breakdown(one, "team") == await pg.breakdown(one, "team")
    await add(date(2026, 5, 5), "a", 0)
    assert await store.breakdown(one, "team") == await pg.breakdown(one, "team")
    assert await store.breakdown(q, "team") == await pg.breakdown(q, "team")


async def test_a_repeated_period_read_sums_again_only_the_groups_whose_buckets_changed(
    pool, store
) -> None:
    """Like breakdowns, period reads (one or several periods, with or without a segment)
    are kept per process: a cached group is used only while no apply changed its buckets,
    so every answer equals PostgreSQL's; a rebuild's new generation starts afresh."""
    tenant_id, survey_id = await _tenant(pool, store)
    gen = await store.expected_gen(tenant_id)
    assert gen is not None
    pg = StoredHistograms(PgUnitOfWorkFactory(pool))
    team_a = (SegmentFilter(dimension="team", value="a"),)
    periods = [(date(2026, 3, 1), date(2026, 6, 30)), (date(2026, 6, 1), date(2026, 6, 7))]
    queries = [_query(tenant_id, start=date(2026, 3, 1), end=date(2026, 6, 30))]
    queries.append(
        _query(tenant_id, start=date(2026, 3, 1), end=date(2026, 6, 30), segments=team_a)
    )

    async def add(day: date, team: str, score: int) -> None:
        rows = await _commit(pool, [_answer(tenant_id, survey_id, score, day, {"team": team})])
        assert await store.apply(tenant_id, gen, rows)

    async def same_as_postgres() -> list[list[tuple[int, ...]] | None]:
        got = [await store.histograms(q, periods) for q in queries]
        assert got == [await pg.histograms(q, periods) for q in queries]
        return got

    await add(date(2026, 3, 3), "a", 9)
    await add(date(2026, 6, 6), "b", 2)
    first = await same_as_postgres()
    # A write that bypasses apply leaves the versions as they were: the cached sums stay.
    older = layout.hist_key(tenant_id, gen, "all", "m202604", "_")
    await store.redis.hincrby(older, "9", 100)
    assert [await store.histograms(q, periods) for q in queries] == first
    await add(date(2026, 6, 7), "a", 10)  # only the newest groups are summed again
    second = await same_as_postgres()
    assert second != first
    await store.redis.hincrby(older, "9", -100)
    await add(date(2026, 4, 1), "c", 7)  # backdated: the older group is summed again
    assert (await same_as_postgres())[0] != second[0]
    await add(date(2026, 5, 5), "a", 0)
    await same_as_postgres()
    await store.redis.hincrby(older, "9", 100)  # drift, then a rebuild from PostgreSQL
    await rebuild(pool, store, tenant_id)
    await same_as_postgres()


async def test_reads_too_large_to_keep_are_answered_but_not_kept(pool, store) -> None:
    """A daily trend of more days than a kept read may have groups, and a breakdown of
    more values than a kept one may sum, are read from the counters every time."""
    from infra.redis.counter_reads import MAX_KEPT_GROUPS, MAX_KEPT_VALUES

    tenant_id, survey_id = await _tenant(pool, store)
    gen = await store.expected_gen(tenant_id)
    assert gen is not None
    day = date(2026, 6, 6)
    teams = MAX_KEPT_VALUES + 1  # all on one day: one group holds them all
    answers = [_answer(tenant_id, survey_id, 9, day, {"team": f"t{i}"}) for i in range(teams)]
    assert await store.apply(tenant_id, gen, await _commit(pool, answers))
    days = [
        (date.fromordinal(day.toordinal() - i), date.fromordinal(day.toordinal() - i))
        for i in range(MAX_KEPT_GROUPS + 1)
    ][::-1]
    q = _query(tenant_id, start=date(2026, 4, 1), end=day)
    first_trend = await store.histograms(q, days)
    first_breakdown = await store.breakdown(q, "team")
    assert first_trend is not None and first_trend[-1][9] == teams
    assert first_breakdown is not None and len(first_breakdown) == teams
    # A write that bypasses apply: a kept read would not see it, these do.
    await store.redis.hincrby(layout.hist_key(tenant_id, gen, "all", "d20260606", "_"), "9", 1)
    await store.redis.hincrby(
        layout.hist_key(tenant_id, gen, "all", "d20260606", "team=t0"), "9", 1
    )
    trend = await store.histograms(q, days)
    breakdown = await store.breakdown(q, "team")
    assert trend is not None and trend[-1][9] == teams + 1
    assert breakdown is not None and breakdown["t0"][9] == 2
