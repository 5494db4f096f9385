"""Calendar arithmetic: bucket covers, trend intervals, local days across midnight and DST."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.periods import (
    TrendInterval,
    bucket_keys,
    default_period,
    local_date,
    trend_buckets,
    utc_bounds,
    zone,
)

dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))


def _days_of(key: str) -> list[date]:
    if key.startswith("d"):
        return [date(int(key[1:5]), int(key[5:7]), int(key[7:9]))]
    year, month = int(key[1:5]), int(key[5:7])
    d, out = date(year, month, 1), []
    while d.month == month:
        out.append(d)
        d += timedelta(days=1)
    return out


def test_bucket_keys_use_whole_months_and_edge_days() -> None:
    keys = bucket_keys(date(2026, 1, 15), date(2026, 3, 10))
    assert keys[:2] == ["d20260115", "d20260116"]
    assert "m202602" in keys and "d20260301" in keys and keys[-1] == "d20260310"
    assert len(keys) == 17 + 1 + 10


def test_a_year_is_twelve_month_keys() -> None:
    assert bucket_keys(date(2025, 1, 1), date(2025, 12, 31)) == [
        f"m2025{m:02d}" for m in range(1, 13)
    ]
    assert bucket_keys(date(2026, 2, 3), date(2026, 2, 3)) == ["d20260203"]


@given(dates, st.integers(min_value=0, max_value=800))
def test_bucket_keys_cover_every_day_exactly_once(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    covered = [d for key in bucket_keys(start, end) for d in _days_of(key)]
    assert covered == [start + timedelta(days=i) for i in range(length + 1)]
    assert len(bucket_keys(start, end)) <= 62 + length // 28 + 2


@given(dates, st.integers(min_value=0, max_value=400), st.sampled_from(list(TrendInterval)))
def test_trend_buckets_tile_the_period(start: date, length: int, interval: TrendInterval) -> None:
    end = start + timedelta(days=length)
    buckets = trend_buckets(start, end, interval)
    assert buckets[0][0] == start and buckets[-1][1] == end
    for (_, a_end), (b_start, _) in itertools.pairwise(buckets):
        assert b_start == a_end + timedelta(days=1)
    if interval is TrendInterval.WEEK:
        assert all(s.isoweekday() == 1 for s, _ in buckets[1:])
        assert all(e.isoweekday() == 7 for _, e in buckets[:-1])
    if interval is TrendInterval.MONTH:
        assert all(s.day == 1 for s, _ in buckets[1:])


def test_start_after_end_is_refused() -> None:
    with pytest.raises(ValueError):
        bucket_keys(date(2026, 2, 2), date(2026, 2, 1))


def test_local_date_around_midnight_and_dst() -> None:
    assert local_date(datetime(2026, 11, 21, 23, 30, tzinfo=UTC), "Europe/Berlin") == date(
        2026, 11, 22
    )
    assert local_date(datetime(2026, 11, 21, 22, 59, tzinfo=UTC), "Europe/Berlin") == date(
        2026, 11, 21
    )
    # New York leaves DST on 2026-11-01 at 06:00 UTC (02:00 EDT -> 01:00 EST).
    assert local_date(datetime(2026, 11, 2, 4, 30, tzinfo=UTC), "America/New_York") == date(
        2026, 11, 1
    )
    assert local_date(datetime(2026, 11, 2, 5, 30, tzinfo=UTC), "America/New_York") == date(
        2026, 11, 2
    )


def test_utc_bounds_of_dst_days_span_23_and_25_hours() -> None:
    lo, hi = utc_bounds(date(2026, 3, 29), date(2026, 3, 29), "Europe/Berlin")
    assert hi - lo == timedelta(hours=23)
    lo, hi = utc_bounds(date(2026, 10, 25), date(2026, 10, 25), "Europe/Berlin")
    assert hi - lo == timedelta(hours=25)


def test_utc_bounds_where_midnight_does_not_exist() -> None:
    # Santiago skips 00:00-00:59 on 2026-09-06: the day starts at 01:00 local (04:00 UTC).
    lo, _ = utc_bounds(date(2026, 9, 6), date(2026, 9, 6), "America/Santiago")
    assert lo == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "name", ["", "Not/AZone", "../etc/passwd", "UTC ", "/usr/share/zoneinfo/UTC"]
)
def test_unknown_zones_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        zone(name)


def test_default_period_is_thirty_days_ending_today() -> None:
    assert default_period(date(2026, 11, 22)) == (date(2026, 10, 24), date(2026, 11, 22))
