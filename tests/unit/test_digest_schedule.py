"""The digest's calendar and when a scheduled digest is due."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.digest import (
    DigestPeriod,
    DigestSchedule,
    due_digest,
    history_start,
    period_of,
    previous_of,
)

WEEK, MONTH = DigestPeriod.WEEK, DigestPeriod.MONTH


def test_weeks_are_iso_weeks_across_the_new_year() -> None:
    assert period_of(WEEK, date(2026, 1, 1)) == (date(2025, 12, 29), date(2026, 1, 4))
    assert previous_of(WEEK, date(2025, 12, 29)) == (date(2025, 12, 22), date(2025, 12, 28))
    assert history_start(WEEK, date(2026, 11, 23)) == date(2026, 9, 7)  # 12 weeks in all


def test_months_are_calendar_months_leap_years_included() -> None:
    assert period_of(MONTH, date(2028, 2, 14)) == (date(2028, 2, 1), date(2028, 2, 29))
    assert previous_of(MONTH, date(2026, 1, 1)) == (date(2025, 12, 1), date(2025, 12, 31))
    assert history_start(MONTH, date(2026, 11, 1)) == date(2025, 12, 1)


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekly_digest_is_due_from_the_chosen_weekday_and_local_hour() -> None:
    s = DigestSchedule(enabled=True, period=WEEK, weekday=1, hour=8)
    berlin = "Europe/Berlin"  # UTC+1 in winter: 08:00 local is 07:00 UTC
    assert due_digest(s, _at(2026, 11, 30, 6, 59), berlin) is None
    last_week = (date(2026, 11, 23), date(2026, 11, 29))
    assert due_digest(s, _at(2026, 11, 30, 7, 0), berlin) == last_week
    assert due_digest(s, _at(2026, 12, 6, 22, 0), berlin) == last_week  # all week long
    wednesday = DigestSchedule(enabled=True, period=WEEK, weekday=3, hour=17)
    assert due_digest(wednesday, _at(2026, 12, 1, 20, 0), berlin) is None
    assert due_digest(wednesday, _at(2026, 12, 2, 16, 0), berlin) == last_week


def test_monthly_digest_waits_for_the_first_chosen_weekday_of_the_next_month() -> None:
    s = DigestSchedule(enabled=True, period=MONTH, weekday=1, hour=8)
    # December 2026 starts on a Tuesday: the first Monday is the 7th.
    assert due_digest(s, _at(2026, 12, 6, 12, 0), "UTC") is None
    november = (date(2026, 11, 1), date(2026, 11, 30))
    assert due_digest(s, _at(2026, 12, 7, 8, 0), "UTC") == november


def test_nothing_is_due_when_disabled_or_when_the_moment_passed_before_enabling() -> None:
    now = _at(2026, 12, 1, 12, 0)
    assert due_digest(DigestSchedule(enabled=False), now, "UTC") is None
    late = DigestSchedule(enabled=True, weekday=1, hour=8, enabled_at=_at(2026, 11, 30, 9, 0))
    assert due_digest(late, now, "UTC") is None
    early = DigestSchedule(enabled=True, weekday=1, hour=8, enabled_at=_at(2026, 11, 30, 7, 0))
    assert due_digest(early, now, "UTC") == (date(2026, 11, 23), date(2026, 11, 29))
