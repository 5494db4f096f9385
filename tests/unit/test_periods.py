"""domain.periods: bucket covers, trend intervals, local days and UTC bounds across DST."""

from __future__ import annotations

import io
import itertools
import struct
import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.periods import (
    TrendInterval,
    _day_start,
    bucket_keys,
    day_key,
    default_period,
    local_date,
    month_key,
    trend_buckets,
    utc_bounds,
    zone,
)

dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Asia/Beirut",
    "America/Havana",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Asia/Kolkata",
]


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _days_of(key: str) -> list[date]:
    """The days a bucket key stands for, parsed independently of the module."""
    year, month = int(key[1:5]), int(key[5:7])
    if key[0] == "d":
        return [date(year, month, int(key[7:9]))]
    assert key[0] == "m" and len(key) == 7
    first = date(year, month, 1)
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return _days(first, nxt - timedelta(days=1))


def test_keys_are_formatted_as_stored() -> None:
    assert day_key(date(2026, 11, 22)) == "d20261122"
    assert day_key(date(2026, 1, 5)) == "d20260105"
    assert month_key(2026, 11) == "m202611"
    assert month_key(2026, 3) == "m202603"


def test_bucket_keys_use_whole_months_and_edge_days() -> None:
    expected = (
        [day_key(d) for d in _days(date(2026, 1, 15), date(2026, 1, 31))]
        + ["m202602"]
        + [day_key(d) for d in _days(date(2026, 3, 1), date(2026, 3, 10))]
    )
    assert bucket_keys(date(2026, 1, 15), date(2026, 3, 10)) == expected


def test_a_full_year_is_twelve_month_keys() -> None:
    keys = bucket_keys(date(2025, 1, 1), date(2025, 12, 31))
    assert keys == [month_key(2025, m) for m in range(1, 13)]


def test_a_single_day_is_one_day_key() -> None:
    assert bucket_keys(date(2026, 2, 3), date(2026, 2, 3)) == ["d20260203"]
    assert bucket_keys(date(2026, 2, 1), date(2026, 2, 1)) == ["d20260201"]


def test_a_month_missing_its_last_day_is_days() -> None:
    keys = bucket_keys(date(2024, 2, 1), date(2024, 2, 28))  # leap year: 29 days
    assert keys == [day_key(d) for d in _days(date(2024, 2, 1), date(2024, 2, 28))]
    assert bucket_keys(date(2024, 2, 1), date(2024, 2, 29)) == ["m202402"]


def test_ranges_running_backwards_are_refused() -> None:
    for fn in (bucket_keys, lambda s, e: trend_buckets(s, e, TrendInterval.DAY)):
        with pytest.raises(ValueError):
            fn(date(2026, 2, 2), date(2026, 2, 1))
    with pytest.raises(ValueError):
        utc_bounds(date(2026, 2, 2), date(2026, 2, 1), "UTC")


@given(dates, st.integers(min_value=0, max_value=900))
def test_bucket_keys_cover_each_day_once_and_minimally(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    keys = bucket_keys(start, end)
    covered = [d for key in keys for d in _days_of(key)]
    assert covered == _days(start, end)  # exact cover, sorted, no overlaps
    for key in keys:  # minimal: a day key never sits in a month wholly inside the range
        if key[0] == "d":
            month_days = _days_of(month_key(int(key[1:5]), int(key[5:7])))
            assert not (start <= month_days[0] and month_days[-1] <= end)
    assert sum(1 for k in keys if k[0] == "d") <= 60


@given(dates, st.integers(min_value=0, max_value=400), st.sampled_from(list(TrendInterval)))
def test_trend_buckets_tile_the_period(start: date, length: int, interval: TrendInterval) -> None:
    end = start + timedelta(days=length)
    buckets = trend_buckets(start, end, interval)
    assert buckets[0][0] == start and buckets[-1][1] == end
    assert all(s <= e for s, e in buckets)
    for (_, a_end), (b_start, _) in itertools.pairwise(buckets):
        assert b_start == a_end + timedelta(days=1)
    if interval is TrendInterval.DAY:
        assert len(buckets) == length + 1
    if interval is TrendInterval.WEEK:
        assert all(s.isocalendar()[:2] == e.isocalendar()[:2] for s, e in buckets)
        assert all(s.isoweekday() == 1 for s, _ in buckets[1:])
        assert all(e.isoweekday() == 7 for _, e in buckets[:-1])
    if interval is TrendInterval.MONTH:
        assert all((s.year, s.month) == (e.year, e.month) for s, e in buckets)
        assert all(s.day == 1 for s, _ in buckets[1:])


def test_weeks_starting_on_a_wednesday_are_clipped() -> None:
    got = trend_buckets(date(2026, 11, 4), date(2026, 11, 20), TrendInterval.WEEK)
    assert got == [
        (date(2026, 11, 4), date(2026, 11, 8)),  # Wed..Sun
        (date(2026, 11, 9), date(2026, 11, 15)),
        (date(2026, 11, 16), date(2026, 11, 20)),  # Mon..Fri
    ]


def test_months_are_clipped_and_accept_plain_strings() -> None:
    got = trend_buckets(date(2026, 1, 20), date(2026, 3, 5), "month")  # type: ignore[arg-type]
    assert got == [
        (date(2026, 1, 20), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 5)),
    ]


def test_default_period_is_the_last_n_days_inclusive() -> None:
    assert default_period(date(2026, 11, 22)) == (date(2026, 10, 24), date(2026, 11, 22))
    assert default_period(date(2026, 11, 22), 1) == (date(2026, 11, 22), date(2026, 11, 22))
    with pytest.raises(ValueError):
        default_period(date(2026, 11, 22), 0)


@pytest.mark.parametrize(
    ("instant", "tz", "expected"),
    [
        (datetime(2026, 11, 21, 23, 30, tzinfo=UTC), "Europe/Berlin", date(2026, 11, 22)),
        (datetime(2026, 11, 21, 22, 59, tzinfo=UTC), "Europe/Berlin", date(2026, 11, 21)),
        # Berlin springs forward on 2026-03-29 (01:00 UTC); 22:30 UTC that day is 00:30 CEST.
        (datetime(2026, 3, 28, 22, 30, tzinfo=UTC), "Europe/Berlin", date(2026, 3, 28)),
        (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), "Europe/Berlin", date(2026, 3, 30)),
        (datetime(2026, 3, 29, 21, 59, tzinfo=UTC), "Europe/Berlin", date(2026, 3, 29)),
        # New York falls back on 2026-11-01 06:00 UTC; midnight Nov 2 EST is 05:00 UTC.
        (datetime(2026, 11, 2, 4, 59, tzinfo=UTC), "America/New_York", date(2026, 11, 1)),
        (datetime(2026, 11, 2, 5, 0, tzinfo=UTC), "America/New_York", date(2026, 11, 2)),
        (datetime(2026, 11, 1, 3, 59, tzinfo=UTC), "America/New_York", date(2026, 10, 31)),
        (datetime(2026, 11, 22, 0, 30, tzinfo=UTC), "UTC", date(2026, 11, 22)),
    ],
)
def test_local_date_around_midnight_and_dst(instant: datetime, tz: str, expected: date) -> None:
    assert local_date(instant, tz) == expected


def test_local_date_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        local_date(datetime(2026, 11, 22, 12, 0), "UTC")


@pytest.mark.parametrize(
    ("day", "tz", "hours"),
    [
        (date(2026, 3, 29), "Europe/Berlin", 23),
        (date(2026, 10, 25), "Europe/Berlin", 25),
        (date(2026, 3, 8), "America/New_York", 23),
        (date(2026, 11, 1), "America/New_York", 25),
        (date(2026, 11, 22), "Europe/Berlin", 24),
    ],
)
def test_utc_bounds_of_one_day(day: date, tz: str, hours: int) -> None:
    lo, hi = utc_bounds(day, day, tz)
    assert hi - lo == timedelta(hours=hours)
    assert lo.tzinfo is UTC and hi.tzinfo is UTC


def test_utc_bounds_of_a_berlin_day_in_winter_and_summer() -> None:
    assert utc_bounds(date(2026, 1, 10), date(2026, 1, 11), "Europe/Berlin") == (
        datetime(2026, 1, 9, 23, 0, tzinfo=UTC),
        datetime(2026, 1, 11, 23, 0, tzinfo=UTC),
    )
    lo, _ = utc_bounds(date(2026, 7, 1), date(2026, 7, 1), "Europe/Berlin")
    assert lo == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)


def test_a_skipped_midnight_starts_the_day_at_the_transition() -> None:
    # Santiago jumps from 00:00 (-04) to 01:00 (-03) on 2026-09-06: the day starts 04:00 UTC.
    lo, hi = utc_bounds(date(2026, 9, 6), date(2026, 9, 6), "America/Santiago")
    assert lo == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)
    assert hi - lo == timedelta(hours=23)
    # Beirut jumps from 00:00 (+02) to 01:00 (+03) on 2026-03-29.
    lo, _ = utc_bounds(date(2026, 3, 29), date(2026, 3, 29), "Asia/Beirut")
    assert lo == datetime(2026, 3, 28, 22, 0, tzinfo=UTC)


def test_a_skipped_day_spans_nothing() -> None:
    # Samoa crossed the date line: 2011-12-29 23:59:59 (-10) was followed by 2011-12-31 (+14).
    lo, hi = utc_bounds(date(2011, 12, 30), date(2011, 12, 30), "Pacific/Apia")
    assert lo == hi == datetime(2011, 12, 30, 10, 0, tzinfo=UTC)


def _posix_zone(rule: str) -> zoneinfo.ZoneInfo:
    """A zone with no recorded transitions, only a POSIX TZ rule (a minimal TZif v2 file)."""
    block = struct.pack(">6l", 0, 0, 0, 0, 1, 4) + struct.pack(">lbB", 0, 0, 0) + b"XST\0"
    header = b"TZif2" + bytes(15)
    data = header + block + header + block + f"\n{rule}\n".encode()
    return zoneinfo.ZoneInfo.from_file(io.BytesIO(data), key="Test/Gap")


def test_a_gap_straddling_midnight_starts_the_day_at_the_transition() -> None:
    # No real zone does this since 1970, so a made-up one: at 23:30 on the last Sunday of
    # March clocks jump to 00:30. Midnight of 2026-03-30 does not exist; the first instant of
    # that day is the jump, 23:30 UTC (fold=0 alone would give 00:00 UTC, 01:00 local).
    tz = _posix_zone("XST0XDT,M3.5.0/23:30,M10.5.0/3")
    start = _day_start(date(2026, 3, 30), tz)
    assert start == datetime(2026, 3, 29, 23, 30, tzinfo=UTC)
    assert start.astimezone(tz).replace(tzinfo=None) == datetime(2026, 3, 30, 0, 30)
    assert (start - timedelta(seconds=1)).astimezone(tz).date() == date(2026, 3, 29)


@given(dates, st.integers(min_value=0, max_value=60), st.sampled_from(ZONES))
def test_utc_bounds_start_and_end_local_days(start: date, length: int, tz: str) -> None:
    end = start + timedelta(days=length)
    lo, hi = utc_bounds(start, end, tz)
    tick = timedelta(microseconds=1)
    assert lo <= hi
    assert local_date(lo - tick, tz) < start <= local_date(lo, tz)
    assert local_date(hi - tick, tz) <= end < local_date(hi, tz)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Not/AZone",
        "../etc",
        "../etc/passwd",
        "/usr/share/zoneinfo/UTC",
        "UTC ",
        " UTC",
        "Europe//Berlin",
        "europe/berlin",
        "Europe",
        "zone.tab",
        "localtime",
        "right/UTC",
        "Europe/Berlin\x00",
    ],
)
def test_unknown_zones_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        zone(name)


def test_known_zones_are_returned_and_cached() -> None:
    berlin = zone("Europe/Berlin")
    assert berlin.key == "Europe/Berlin"
    assert zone("Europe/Berlin") is berlin
    assert zone("UTC").key == "UTC"


@given(
    instants=st.lists(
        st.datetimes(
            min_value=datetime(1990, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(UTC)
        ),
        min_size=1,
        max_size=20,
    ),
    tz=st.sampled_from(ZONES),
)
def test_local_date_remembering_the_current_day_answers_like_the_zone(
    instants: list[datetime], tz: str
) -> None:
    """Instants near each other (the day kept per zone) and far apart, in any order."""
    near = [i + timedelta(minutes=m) for i in instants[:1] for m in range(-1500, 1500, 7)]
    for instant in [*instants, *near, *reversed(instants)]:
        assert local_date(instant, tz) == instant.astimezone(zoneinfo.ZoneInfo(tz)).date()
        other = instant.astimezone(zoneinfo.ZoneInfo("Asia/Kolkata"))  # same instant, other offset
        assert local_date(other, tz) == local_date(instant, tz)


@pytest.mark.parametrize(
    ("tz", "around"),
    [
        ("Asia/Beirut", datetime(2026, 10, 24, 21, 0, tzinfo=UTC)),  # 00:00 set back to 23:00
        ("America/Santiago", datetime(2026, 9, 6, 4, 0, tzinfo=UTC)),  # 00:00 jumps to 01:00
        ("Europe/Berlin", datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        ("Pacific/Apia", datetime(2011, 12, 30, 10, 0, tzinfo=UTC)),  # 30 December skipped
    ],
)
def test_local_date_minute_by_minute_across_a_change_of_offset(tz: str, around: datetime) -> None:
    minutes = [around + timedelta(minutes=m) for m in range(-36 * 60, 36 * 60)]
    for instant in [*minutes, *reversed(minutes)]:
        assert local_date(instant, tz) == instant.astimezone(zoneinfo.ZoneInfo(tz)).date()


@pytest.mark.parametrize("tz", ["Pacific/Kiritimati", "America/New_York", "UTC"])
def test_utc_bounds_at_the_ends_of_the_calendar_are_clipped(tz: str) -> None:
    lo, hi = utc_bounds(date(1, 1, 1), date(1, 1, 2), tz)
    assert lo >= datetime.min.replace(tzinfo=UTC) and lo < hi
    lo, hi = utc_bounds(date(9999, 12, 30), date(9999, 12, 31), tz)
    assert hi == datetime.max.replace(tzinfo=UTC) and lo < hi
