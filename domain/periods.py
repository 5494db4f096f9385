"""Calendar arithmetic in a tenant's zone: local days, counter buckets, trend intervals."""

from __future__ import annotations

import calendar
import enum
import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

# Present in some zoneinfo directories but not IANA zones: the host's own zone, a legacy rule file.
_NOT_ZONES = frozenset({"localtime", "posixrules"})


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


@functools.lru_cache(maxsize=512)  # every answer of a batch asks for its tenant's zone
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone `name`; ValueError for anything else (empty, paths, padded, unknown)."""
    if name not in _known_zones():
        raise ValueError(f"unknown time zone: {name!r}")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone: {name!r}") from None


# Per zone, the UTC span [lo, hi) of the local day last asked for and that day: nearly
# every instant asked for (now, for a new answer or a read's today) falls in it. Only a
# day of 24 hours at one offset is kept; the few days with a change of offset are worked
# out every time, so no rule of any zone's transitions has to hold here.
_current_day: dict[str, tuple[datetime, datetime, date]] = {}
_DAY, _TICK = timedelta(days=1), timedelta(microseconds=1)


def local_date(ts: datetime, tz: str) -> date:
    """The calendar date of the aware instant `ts` in zone `tz`."""
    if ts.utcoffset() is None:
        raise ValueError("local_date needs a timezone-aware datetime")
    known = _current_day.get(tz)
    if known is not None and known[0] <= ts < known[1]:
        return known[2]
    z = zone(tz)
    day = ts.astimezone(z).date()
    lo, hi = utc_bounds(day, day, tz)
    if hi - lo == _DAY and lo.astimezone(z).utcoffset() == (hi - _TICK).astimezone(z).utcoffset():
        _current_day[tz] = (lo, hi, day)
    return day


def day_key(d: date) -> str:
    return f"d{d:%Y%m%d}"


def month_key(year: int, month: int) -> str:
    return f"m{year:04d}{month:02d}"


def _month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def _check_range(start: date, end: date) -> None:
    if start > end:
        raise ValueError(f"start {start} is after end {end}")


def bucket_keys(start: date, end: date) -> list[str]:
    """Minimal cover of [start, end]: whole months as month keys, other days as day keys."""
    return list(_bucket_keys(start, end))


@functools.lru_cache(maxsize=1024)  # every read asks for the same few periods, over and over
def _bucket_keys(start: date, end: date) -> tuple[str, ...]:
    _check_range(start, end)
    keys: list[str] = []
    d = start
    while d <= end:
        last = _month_end(d)
        if d.day == 1 and last <= end:
            keys.append(month_key(d.year, d.month))
            d = last
        else:
            keys.append(day_key(d))
        if d == end:
            break
        d += timedelta(days=1)
    return tuple(keys)


class TrendInterval(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def _interval_end(d: date, interval: TrendInterval) -> date:
    if interval is TrendInterval.DAY:
        return d
    if interval is TrendInterval.WEEK:
        return d + timedelta(days=6 - d.weekday())
    return _month_end(d)


def trend_buckets(start: date, end: date, interval: TrendInterval) -> list[tuple[date, date]]:
    """Consecutive inclusive (start, end) pairs tiling [start, end]; the edges are clipped.

    Weeks are ISO weeks (Monday..Sunday), months calendar months.
    """
    _check_range(start, end)
    kind = TrendInterval(interval)
    out: list[tuple[date, date]] = []
    d = start
    while True:
        last = min(_interval_end(d, kind), end)
        out.append((d, last))
        if last == end:
            return out
        d = last + timedelta(days=1)


def default_period(today: date, days: int = 30) -> tuple[date, date]:
    """The `days` days ending today, inclusive."""
    if days < 1:
        raise ValueError("a period has at least one day")
    return today - timedelta(days=days - 1), today


def _day_start(d: date, tz: zoneinfo.ZoneInfo) -> datetime:
    """First instant (UTC) whose local date in tz is d or later.

    A midnight that occurs twice (clocks set back across it) is taken at its first occurrence
    (fold=0). A midnight that does not exist (clocks jump over it, e.g. America/Santiago or
    Asia/Beirut) is replaced by the transition instant, the first existing instant of the
    day; if the whole day is skipped (Pacific/Apia, 2011-12-30) that instant starts the next
    day, so the day spans nothing.
    """
    wall = datetime.combine(d, time.min)
    early = wall.replace(tzinfo=tz).astimezone(UTC)
    if early.astimezone(tz).replace(tzinfo=None) == wall:
        return early
    # In a gap: the transition lies in (late, early]; offsets change only at whole seconds.
    late = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    after = early.astimezone(tz).utcoffset()
    lo, hi = int(late.timestamp()), int(early.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


def utc_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """[lo, hi) in UTC of the local days start..end: lo starts `start`, hi starts end+1.

    At the ends of the calendar (year 1, year 9999) a bound that UTC cannot represent is
    clipped to the first or last instant there is: no answer lies beyond either.
    """
    _check_range(start, end)
    z = zone(tz)
    try:
        lo = _day_start(start, z)
    except OverflowError:
        lo = _FIRST
    try:
        hi = _day_start(end + timedelta(days=1), z)
    except OverflowError:
        hi = _LAST
    return lo, hi
