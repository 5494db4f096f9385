"""The kept reads' pure logic (infra.redis.read_cache) and the applied set's timing, with
an injected clock: no Redis, no sleeping."""

from __future__ import annotations

import uuid
from datetime import date

from infra.redis import layout
from infra.redis.applier import CounterApplier, due_for_forgetting
from infra.redis.read_cache import (
    NO_VERSION,
    GroupCache,
    breakdown_parts,
    breakdown_total,
    bucket_groups,
    histogram_parts,
    histogram_totals,
    period_groups,
)

H1 = (1,) + (0,) * 10
H2 = (0, 2) + (0,) * 9


def test_the_two_newest_buckets_are_groups_of_their_own_the_older_ones_one_group() -> None:
    assert bucket_groups(date(2026, 5, 1), date(2026, 5, 3)) == (
        "d20260501",
        "d20260502",
        "d20260503",
    )
    assert bucket_groups(date(2026, 1, 1), date(2026, 6, 3)) == (
        "m202601,m202602,m202603,m202604,m202605,d20260601",
        "d20260602",
        "d20260603",
    )
    assert bucket_groups(date(2026, 5, 1), date(2026, 5, 31)) == ("m202605",)


def test_period_groups_lists_every_periods_groups_and_counts_them() -> None:
    periods = ((date(2026, 5, 1), date(2026, 5, 31)), (date(2026, 6, 1), date(2026, 6, 3)))
    assert period_groups(periods) == (
        ("m202605", "d20260601", "d20260602", "d20260603"),
        (1, 3),
    )
    long = tuple((date(2026, 1, d), date(2026, 1, d)) for d in range(1, 20))
    assert period_groups(long) == (tuple(f"d202601{d:02d}" for d in range(1, 20)), (1,) * 19)


def _cache(size: int = 2, max_weight: int = 1000) -> GroupCache[tuple[int, ...]]:
    return GroupCache(size, lambda: (0,) * 11, max_weight=max_weight)


def test_a_new_read_asks_for_every_group_and_a_kept_one_sends_its_versions() -> None:
    cache = _cache()
    assert cache.args("k", ["a,b", "c"]) == ["", "a,b", NO_VERSION, "c", NO_VERSION]
    total = cache.update("k", 2, "7", [(0, "3", H1), (1, "1", H2)], _sum)
    assert total == tuple(a + b for a, b in zip(H1, H2, strict=True))
    assert cache.args("k", ["a,b", "c"]) == ["7", "a,b", "3", "c", "1"]


def test_only_changed_groups_are_replaced_and_the_total_follows() -> None:
    cache = _cache()
    cache.update("k", 2, "7", [(0, "3", H1), (1, "1", H2)], _sum)
    calls: list[int] = []

    def counted(parts: list[tuple[int, ...]]) -> tuple[int, ...]:
        calls.append(1)
        return _sum(parts)

    assert cache.update("k", 2, "7", [], counted) == _sum([H1, H2])
    assert calls == []  # nothing changed: the kept total, not summed again
    assert cache.update("k", 2, "7", [(1, "2", H1)], counted) == _sum([H1, H1])
    assert calls == [1]
    assert cache.args("k", ["a,b", "c"]) == ["7", "a,b", "3", "c", "2"]


def test_a_new_generation_starts_the_entry_afresh() -> None:
    cache = _cache()
    cache.update("k", 2, "7", [(0, "3", H1), (1, "1", H2)], _sum)
    assert cache.update("k", 2, "8", [(1, "1", H2)], _sum) == H2  # group 0 empty again
    assert cache.args("k", ["a,b", "c"]) == ["8", "a,b", NO_VERSION, "c", "1"]


def test_the_least_recently_used_read_is_dropped_first() -> None:
    cache = _cache(size=2)
    for key in ("a", "b"):
        cache.update(key, 1, "1", [(0, "1", H1)], _sum)
    cache.args("a", ["x"])  # asking is not using: only an update moves it
    cache.update("a", 1, "1", [], _sum)
    cache.update("c", 1, "1", [(0, "1", H1)], _sum)
    assert cache.args("b", ["x"]) == ["", "x", NO_VERSION]
    assert cache.args("a", ["x"]) == ["1", "x", "1"]
    assert cache.args("c", ["x"]) == ["1", "x", "1"]


def test_a_read_heavier_than_the_limit_is_answered_but_not_kept() -> None:
    cache = _cache(max_weight=2)
    changed = [(i, "1", H1) for i in range(3)]
    assert cache.update("big", 3, "1", changed, _sum) == _sum([H1, H1, H1])
    assert cache.args("big", ["a", "b", "c"])[0] == ""
    assert cache.update("small", 2, "1", changed[:2], _sum) == _sum([H1, H1])
    assert cache.args("small", ["a", "b"])[0] == "1"


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    cache = _cache(size=0)
    cache.update("k", 1, "1", [(0, "1", H1)], _sum)
    assert cache.args("k", ["a"]) == ["", "a", NO_VERSION]


def test_script_answers_are_parsed_into_groups_with_zero_based_indexes() -> None:
    read = [1, b"7", 2, b"5", *[b"1"] * 11, 1, b"9", *[b"0"] * 11]
    assert list(histogram_parts(read)) == [(1, "5", (1,) * 11), (0, "9", (0,) * 11)]
    breakdown = [1, b"7", 1, b"4", 2, b"a", *[b"1"] * 11, b"b", *[b"2"] * 11, 2, b"3", 0]
    assert list(breakdown_parts(breakdown)) == [
        (0, "4", {"a": (1,) * 11, "b": (2,) * 11}),
        (1, "3", {}),
    ]


def test_totals_add_each_periods_groups() -> None:
    assert histogram_totals([H1, H2, H1], [1, 2]) == [H1, _sum([H2, H1])]
    assert breakdown_total([{"a": H1}, {"a": H2, "b": H1}]) == {"a": _sum([H1, H2]), "b": H1}
    assert breakdown_total([{"a": H1}]) == {"a": H1}


def test_applied_transactions_are_forgotten_only_after_the_delay() -> None:
    tenant = uuid.uuid4()
    pending = [(100.0, tenant, 1, ["5"]), (200.0, tenant, 1, ["6"])]
    assert due_for_forgetting(pending, 399.9, 300.0) == ([], pending)
    assert due_for_forgetting(pending, 400.0, 300.0) == (pending[:1], pending[1:])
    assert due_for_forgetting(pending, 500.0, 300.0) == (pending, [])


class _Pipeline:
    """Records the SREMs a pipeline would send."""

    def __init__(self, sent: list[tuple[str, tuple[str, ...]]]) -> None:
        self.sent = sent

    async def __aenter__(self) -> _Pipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def srem(self, key: str, *members: str) -> None:
        self.sent.append((key, members))

    async def execute(self) -> None:
        return None


class _Redis:
    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[str, ...]]] = []

    def pipeline(self, *, transaction: bool) -> _Pipeline:
        return _Pipeline(self.sent)


async def test_the_applier_forgets_applied_transactions_by_its_clock() -> None:
    now = [1000.0]
    redis = _Redis()
    applier = CounterApplier(redis, None, clock=lambda: now[0])  # type: ignore[arg-type]
    tenant = uuid.uuid4()
    applier.deleted(tenant, 3, ["77"])
    now[0] += applier.forget_after_s - 1
    applier.deleted(tenant, 3, ["78"])
    await applier.forget_deleted()
    assert redis.sent == []  # not yet: another holder of the rows may still apply them
    now[0] += 1
    await applier.forget_deleted()
    assert redis.sent == [(layout.applied_key(tenant, 3), ("77",))]
    now[0] += applier.forget_after_s
    await applier.forget_deleted()
    assert redis.sent[1:] == [(layout.applied_key(tenant, 3), ("78",))]


def _sum(parts: list[tuple[int, ...]]) -> tuple[int, ...]:
    return tuple(map(sum, zip(*parts, strict=True)))
