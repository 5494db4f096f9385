"""The counter layout's pure rules: the fan-out, the apply payload, the rebuild's fold, and
the one-dimension rule the counter store shares with the domain."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date

import msgspec
import pytest

from domain.model import ResultQuery, SegmentFilter
from domain.results import counters_can_answer
from infra.counter_sync.rebuild import fold
from infra.postgres.outbox import OutboxRow
from infra.postgres.results import AggregateRow
from infra.redis import layout
from infra.redis.counter_reads import CounterReads
from infra.redis.generations import CounterGenerations

SURVEY = uuid.UUID("00000000-0000-0000-0000-00000000000a")
TENANT = uuid.UUID("00000000-0000-0000-0000-0000000000ff")


def _row(i: int, xid: str, day: date, segments: dict[str, str], delta: int = 1) -> OutboxRow:
    return OutboxRow(
        id=i,
        xid=xid,
        tenant_id=TENANT,
        survey_id=SURVEY,
        local_date=day,
        score=i % 11,
        segments=segments,
        delta=delta,
    )


def test_an_answer_counts_in_its_survey_and_all_by_day_and_month_under_each_segment() -> None:
    cells = list(layout.cells(SURVEY, date(2026, 11, 22), {"team": "a", "region": "x"}))
    assert len(cells) == len(set(cells)) == 2 * 2 * 3
    assert set(cells) == {
        (scope, bucket, seg)
        for scope in (str(SURVEY), "all")
        for bucket in ("d20261122", "m202611")
        for seg in ("_", "team=a", "region=x")
    }


def test_an_answer_without_segments_counts_in_four_counters() -> None:
    assert {seg for _, _, seg in layout.cells(SURVEY, date(2026, 1, 31), {})} == {"_"}
    assert len(list(layout.cells(SURVEY, date(2026, 1, 31), {}))) == 4


def test_hist_segment_gives_back_the_segment_even_with_colons_in_the_value() -> None:
    seg = layout.segment("team", "a:b=c")
    key = layout.hist_key(TENANT, 7, "all", "d20260101", seg)
    assert layout.hist_segment(key) == seg
    assert key.startswith(layout.gen_prefix(TENANT, 7)) and "{" + str(TENANT) + "}" in key


def test_apply_payload_names_every_field_and_groups_rows_by_transaction() -> None:
    rows = [
        _row(1, "900", date(2026, 3, 1), {"team": "a"}),
        _row(2, "901", date(2026, 3, 2), {}, delta=-1),
        _row(3, "900", date(2026, 4, 30), {"team": "b", "plan": "pro"}),
    ]
    decoded = msgspec.json.decode(layout.apply_payload(rows))
    assert decoded == [
        {
            "xid": "900",
            "rows": [
                {
                    "survey": str(SURVEY),
                    "day": "d20260301",
                    "month": "m202603",
                    "score": 1,
                    "delta": 1,
                    "segments": {"team": "a"},
                },
                {
                    "survey": str(SURVEY),
                    "day": "d20260430",
                    "month": "m202604",
                    "score": 3,
                    "delta": 1,
                    "segments": {"team": "b", "plan": "pro"},
                },
            ],
        },
        {
            "xid": "901",
            "rows": [
                {
                    "survey": str(SURVEY),
                    "day": "d20260302",
                    "month": "m202603",
                    "score": 2,
                    "delta": -1,
                    "segments": {},
                }
            ],
        },
    ]
    assert layout.apply_payload([]) == b"[]"


def test_the_apply_payload_buckets_are_the_fan_out_buckets() -> None:
    (transaction,) = layout.apply_transactions([_row(5, "1", date(2026, 2, 28), {})])
    (row,) = transaction.rows
    assert (row.day, row.month) == layout.buckets(date(2026, 2, 28))
    assert {bucket for _, bucket, _ in layout.cells(SURVEY, date(2026, 2, 28), {})} == {
        row.day,
        row.month,
    }


def test_fold_counts_an_aggregate_as_the_fan_out_of_its_answers() -> None:
    answers = [
        (date(2026, 6, 1), 9, {"team": "a", "region": "x"}),
        (date(2026, 6, 1), 9, {"team": "a"}),
        (date(2026, 7, 15), 0, {}),
    ]
    aggregate: list[AggregateRow] = []
    expected: Counter[tuple[str, int]] = Counter()
    for day, score, segments in answers:
        for dimension, value in [(None, None), *segments.items()]:
            aggregate.append(
                AggregateRow(
                    survey_id=SURVEY,
                    local_date=day,
                    score=score,
                    dimension=dimension,
                    value=value,
                    n=1,
                )
            )
        for scope, bucket, seg in layout.cells(SURVEY, day, segments):
            expected[(layout.hist_key(TENANT, 4, scope, bucket, seg), score)] += 1
    hists, members = fold(aggregate, TENANT, 4)
    got = Counter({(key, s): n for key, bins in hists.items() for s, n in enumerate(bins) if n})
    assert got == expected
    assert members == {
        (layout.dims_key(TENANT, 4), "team"),
        (layout.dims_key(TENANT, 4), "region"),
        (layout.values_key(TENANT, 4, "team"), "a"),
        (layout.values_key(TENANT, 4, "region"), "x"),
    }


def test_the_lua_prelude_quotes_every_name_as_a_lua_string() -> None:
    prelude = layout.lua_prelude()
    assert prelude.startswith("local LAYOUT = {") and prelude.endswith("}\n")
    assert "no_segment = '_'" in prelude and "versions = 'bv'" in prelude
    assert layout._lua_string("a'b\\c") == "'a\\'b\\\\c'"


def _query(*filters: tuple[str, str]) -> ResultQuery:
    return ResultQuery(
        tenant_id=TENANT,
        survey_id=None,
        start=date(2026, 1, 1),
        end=date(2026, 1, 31),
        segments=tuple(SegmentFilter(dimension=d, value=v) for d, v in filters),
    )


@pytest.mark.parametrize(
    ("filters", "dimension", "counters"),
    [
        ((), None, True),
        ((("team", "a"),), None, True),
        ((), "team", True),
        ((("team", "a"),), "team", True),
        ((("team", "a"),), "region", False),
        ((("team", "a"), ("region", "x")), None, False),
        ((("team", "a"), ("team", "b")), "team", False),
    ],
)
async def test_counters_hold_one_dimension_and_the_store_refuses_by_the_same_rule(
    filters: tuple[tuple[str, str], ...], dimension: str | None, counters: bool
) -> None:
    query = _query(*filters)
    assert counters_can_answer(query, dimension) is counters
    if counters:
        return
    reads = CounterReads(None, CounterGenerations(None))  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # before any call to Redis
        if dimension is None:
            await reads.histograms(query, [(query.start, query.end)])
        else:
            await reads.breakdown(query, dimension)
