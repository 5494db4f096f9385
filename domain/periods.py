"""Calendar arithmetic in a tenant's zone: local days, counter buckets, trend intervals."""

from __future__ import annotations

import enum
import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta


@functools.lru_cache(maxsize=512)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone `name`; ValueError for anything else (empty, paths, unknown)."""
    if not name or name != name.strip() or name.startswith(("/", ".")) or ".." in name:
        raise ValueError(f"unknown time zone: {name!r}")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone: {name!r}") from None


def local_date(ts: datetime, tz: str) -> date:
    return ts.astimezone(zone(tz)).date()


def day_key(d: date) -> str:
    return f"d{d:%Y%m%d}"


def month_key(year: int, month: int) -> str:
    return f"m{year:04d}{month:02d}"


def _month_end(d: date) -> date:
    nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def bucket_keys(start: date, end: date) -> list[str]:
    """Minimal cover of [start, end]: whole months as month keys, other days as day keys."""
    if start > end:
        raise ValueError("start is after end")
    keys: list[str] = []
    d = start
    while d <= end:
        last = _month_end(d)
        if d.day == 1 and last <= end:
            keys.append(month_key(d.year, d.month))
            d = last + timedelta(days=1)
        else:
            keys.append(day_key(d))
            d += timedelta(days=1)
    return keys


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
    """Consecutive inclusive (start, end) pairs covering [start, end], the edges clipped."""
    if start > end:
        raise ValueError("start is after end")
    out: list[tuple[date, date]] = []
    d = start
    while d <= end:
        last = min(_interval_end(d, interval), end)
        out.append((d, last))
        d = last + timedelta(days=1)
    return out


def default_period(today: date, days: int = 30) -> tuple[date, date]:
    return today - timedelta(days=days - 1), today


def _local_midnight(d: date, tz: zoneinfo.ZoneInfo) -> datetime:
    """First instant of local day d in UTC.

    fold=0 gives the earlier reading: an ambiguous midnight is its first occurrence, and a
    skipped one (DST gap, e.g. America/Santiago) maps to the transition instant, which is
    the first instant that exists on that day.
    """
    return datetime.combine(d, time.min).replace(tzinfo=tz).astimezone(UTC)


def utc_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """[lo, hi) in UTC of the local days start..end."""
    z = zone(tz)
    return _local_midnight(start, z), _local_midnight(end + timedelta(days=1), z)
