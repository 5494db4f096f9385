"""Score -> category has one definition (domain.nps); SQL takes its copy from it."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg

from domain.nps import classify
from infra.postgres.categories import category_sql

ROOT = Path(__file__).resolve().parents[2]
# A score compared with a number in SQL or Lua: a category rule written out again.
# (The 0..10 range check is no category rule.)
LITERAL_RULE = re.compile(r"score\s*(>=|>|<=|<|BETWEEN)\s*[6-9]\b", re.IGNORECASE)


# A migration cannot import Python: its copy is checked against classify() below instead.
CHECKED_COPIES = {"infra/postgres/migrations/010_customer_standing.sql"}
RANKS = {"detractor": 0, "passive": 1, "promoter": 2}  # nps_category_rank's order


async def test_the_sql_category_of_every_score_is_the_domains(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            f"SELECT s, {category_sql('s')} AS category, nps_category_rank(s::smallint) AS rank"
            " FROM generate_series(0, 10) AS s"
        )
        unknown = await conn.fetchval(f"SELECT {category_sql('NULL::int')}")
    finally:
        await conn.close()
    assert {r["s"]: r["category"] for r in rows} == {s: str(classify(s)) for s in range(11)}
    assert {r["s"]: r["rank"] for r in rows} == {s: RANKS[classify(s)] for s in range(11)}
    assert unknown is None  # no score (a customer who did not answer again): no category


def test_the_answer_list_filters_each_category_by_the_domains_scores() -> None:
    from infra.postgres.responses import _CATEGORY_RANGES

    for category, (low, high) in _CATEGORY_RANGES.items():
        assert [s for s in range(11) if low <= s <= high] == [
            s for s in range(11) if classify(s) == category
        ]


def test_no_other_module_writes_the_category_thresholds_out() -> None:
    sources = [
        p
        for pattern in ("infra/**/*.py", "infra/**/*.sql", "infra/**/*.lua", "api/**/*.py")
        for p in ROOT.glob(pattern)
    ]
    copies = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in sources
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if LITERAL_RULE.search(line) and str(p.relative_to(ROOT)) not in CHECKED_COPIES
    ]
    assert not copies, copies
