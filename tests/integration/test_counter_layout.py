"""The counter layout has one home: the Lua scripts against infra.redis.layout, and a
process of another layout version refusing a generation while reads stay exact."""

from __future__ import annotations

import random
import re
import uuid
from collections import Counter
from datetime import date
from importlib import resources

import msgspec
from structlog.testing import capture_logs

from domain.results import StoredHistograms, nps_breakdown, nps_for_period
from infra.counter_sync import OutboxDrainer, verify
from infra.postgres.outbox import OutboxRow, delete_outbox
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.redis import layout
from infra.redis.counters import RedisCounterStore
from infra.redis.resilient import ResilientCounters
from tests.integration.test_counters import (  # noqa: F401  (fixtures)
    SCAN,
    Ans,
    Env,
    _mixed_answers,
    _q,
    _tenant,
    _write,
    counters_db,
    env,
    pool,
)

COUNTER_SCRIPTS = [
    "apply.lua",
    "read.lua",
    "breakdown.lua",
    "groups.lua",
    "set_meta.lua",
    "mark_behind.lua",
    "clear_behind.lua",
]


def _lua(name: str) -> str:
    return resources.files("infra.redis").joinpath("lua", name).read_text()


def _code(text: str) -> str:
    """Lua without its comments."""
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


def test_counter_scripts_write_out_no_layout_name_and_use_only_defined_ones() -> None:
    names = [
        layout.STATE,
        layout.GEN,
        layout.LAYOUT,
        layout.BEHIND,
        layout.READY,
        layout.REBUILDING,
        layout.NO_SEGMENT,
        layout.ALL_SURVEYS,
        layout.SEGMENT_SEPARATOR,
        layout.HIST,
        layout.DIMS,
        layout.VALUES,
        layout.APPLIED,
        layout.VERSIONS,
        layout.GEN_PREFIX,
    ]
    defined = set(re.findall(r"(\w+) = '", layout.lua_prelude()))
    for script in COUNTER_SCRIPTS:
        code = _code(_lua(script))
        for name in names:
            for quote in ("'", '"'):
                assert f"{quote}{name}{quote}" not in code, (script, name)
        used = set(re.findall(r"LAYOUT\.(\w+)", code))
        assert used <= defined, (script, used - defined)


def test_apply_lua_reads_the_payload_by_the_names_the_layout_gives_them() -> None:
    code = _code(_lua("apply.lua"))
    read = {f"transaction.{f.encode_name}" for f in msgspec.structs.fields(layout.ApplyTransaction)}
    read |= {f"row.{f.encode_name}" for f in msgspec.structs.fields(layout.ApplyRow)}
    for field in read:
        assert re.search(rf"\b{re.escape(field)}\b", code), field
    assert set(re.findall(r"\b(?:transaction|row)\.\w+", code)) <= read
    assert not re.search(r"\b(?:transaction|row|group)\[", code)  # nothing positional


async def test_apply_lua_fans_out_every_row_as_layout_cells(env: Env) -> None:  # noqa: F811
    rnd = random.Random(11)
    tenant_id, gen = uuid.uuid4(), 5
    env.made.append(tenant_id)
    await env.store.set_meta(tenant_id, expect_state="-", expect_gen=None, state="ready", gen=gen)
    surveys = [uuid.uuid4(), uuid.uuid4()]
    rows = [
        OutboxRow(
            id=i,
            xid=str(2000 + i % 4),
            tenant_id=tenant_id,
            survey_id=rnd.choice(surveys),
            local_date=date(2026, rnd.choice([3, 4]), rnd.choice([1, 30])),
            score=rnd.randrange(11),
            segments={d: rnd.choice(["a", "b=c", "日本"]) for d in rnd.sample(["x", "y"], 2)},
            delta=rnd.choice([1, 1, -1]),
        )
        for i in range(200)
    ]
    assert await env.store.apply(tenant_id, gen, rows)
    expected: Counter[tuple[str, str]] = Counter()
    for r in rows:
        for scope, bucket, seg in layout.cells(r.survey_id, r.local_date, r.segments):
            key = layout.hist_key(tenant_id, gen, scope, bucket, seg)
            expected[(key, str(r.score))] += r.delta
    got: Counter[tuple[str, str]] = Counter()
    async for key in env.rds.scan_iter(match=f"{layout.gen_prefix(tenant_id, gen)}h:*", count=SCAN):
        for field, n in (await env.rds.hgetall(key)).items():
            got[(key.decode(), field.decode())] += int(n)
    assert got == Counter({key: n for key, n in expected.items() if n})


async def test_a_process_of_another_layout_refuses_to_apply_and_reads_stay_exact(
    env: Env,  # noqa: F811
) -> None:
    t = await _tenant(env)  # its generation is written with this process's layout
    assert (await env.store.status(t.id)).layout == layout.LAYOUT_VERSION
    gen = await env.store.expected_gen(t.id)
    assert gen is not None
    first = await _write(env.pool, t, _mixed_answers(t, 30, 1))
    assert await env.store.apply(t.id, gen, first)
    await delete_outbox(env.pool, t.id, [r.id for r in first])
    asked: list[uuid.UUID] = []
    newer = RedisCounterStore(
        env.rds, layout_version=layout.LAYOUT_VERSION + 1, on_rebuild_needed=asked.append
    )
    late = await _write(env.pool, t, [Ans(t.surveys[0], date(2026, 5, 5), 0, {"team": "a"})] * 3)
    with capture_logs() as logs:
        assert await newer.expected_gen(t.id) is None
        assert not await newer.apply(t.id, gen, late)
        assert not await newer.apply(t.id, gen, late)
        assert await newer.histograms(_q(t), [(date(2026, 1, 1), date(2026, 12, 31))]) is None
    refused = [e for e in logs if e["event"] == "counter_layout_refused"]
    assert refused == [
        {
            "event": "counter_layout_refused",
            "log_level": "warning",
            "tenant_id": str(t.id),
            "generation": gen,
            "generation_layout": layout.LAYOUT_VERSION,
            "process_layout": layout.LAYOUT_VERSION + 1,
        }
    ]
    assert asked and set(asked) == {t.id}  # a newer process asks for a rebuild
    waiting = "SELECT count(*) FROM counter_outbox WHERE tenant_id = $1"
    assert await env.pool.fetchval(waiting, t.id) == 3  # the rows stay in the outbox
    assert (await env.store.status(t.id)).behind is not None  # nobody trusts the counters
    stored_histograms = StoredHistograms(PgUnitOfWorkFactory(env.pool))
    for store in (newer, env.store):  # both processes answer from PostgreSQL meanwhile
        counters = ResilientCounters(store)
        assert await nps_for_period(
            _q(t), counters=counters, stored_histograms=stored_histograms
        ) == await nps_for_period(
            _q(t), counters=stored_histograms, stored_histograms=stored_histograms
        )
        assert await nps_breakdown(
            _q(t), "team", counters=counters, stored_histograms=stored_histograms
        ) == await nps_breakdown(
            _q(t), "team", counters=stored_histograms, stored_histograms=stored_histograms
        )
    assert await env.store.histograms(_q(t), [(date(2026, 1, 1), date(2026, 12, 31))]) is None
    # A process of the generation's layout applies what waited; its reads are exact again.
    await OutboxDrainer(env.pool, env.store).drain_once()
    assert await env.pool.fetchval(waiting, t.id) == 0
    assert (await env.store.status(t.id)).behind is None
    periods = [(date(2026, 1, 1), date(2026, 12, 31)), (date(2026, 5, 1), date(2026, 5, 31))]
    assert await env.store.histograms(_q(t), periods) == await stored_histograms.histograms(
        _q(t), periods
    )
    assert await verify(env.pool, env.store, [t.id]) == []


async def test_an_older_process_refuses_a_newer_generation_without_rebuilding_it(
    env: Env,  # noqa: F811
) -> None:
    newer = RedisCounterStore(env.rds, layout_version=layout.LAYOUT_VERSION + 1)
    t = await _tenant(env, store=newer)
    asked: list[uuid.UUID] = []
    older = RedisCounterStore(env.rds, on_rebuild_needed=asked.append)
    rows = await _write(env.pool, t, _mixed_answers(t, 5, 2))
    with capture_logs() as logs:
        assert await older.expected_gen(t.id) is None
        assert not await older.apply(t.id, 0, rows)
        assert await older.breakdown(_q(t), "team") is None
    assert [(e["generation_layout"], e["process_layout"]) for e in logs] == [
        (layout.LAYOUT_VERSION + 1, layout.LAYOUT_VERSION)
    ]
    assert asked == []
    assert await newer.apply(t.id, 0, rows)  # the generation's own processes apply them
    assert await verify(env.pool, newer, [t.id]) == []
