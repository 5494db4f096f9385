"""Use-case: the huddle digest of one week or month, built from the existing use-cases."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from uuid import UUID

import msgspec

from domain.decisions import (
    ChangeRecord,
    Impact,
    TargetVerdict,
    change_impact,
    changes_between,
    results_target,
)
from domain.followups import CaseFilter, CaseStats, followup_stats
from domain.insights import CommentAnalyzer, CommentSource, Themes, ThemesQuery, comment_themes
from domain.model import ResultQuery
from domain.nps import NpsSummary
from domain.periods import TrendInterval, zone
from domain.ports import HistogramSource, TargetCache, UnitOfWorkFactory
from domain.results import (
    BreakdownSort,
    Group,
    Point,
    VsRest,
    nps_breakdown_vs_rest,
    nps_compare,
    nps_trend,
)
from domain.stats import Comparison

HISTORY = 12  # periods in the chart, the digest's own included
CHANGES_DAYS = 90  # changes that took effect in the 90 days up to the period's end
IMPACT_WINDOW_DAYS = 30
THEMES = 3
MAX_DIMENSIONS = 5


class DigestPeriod(enum.StrEnum):
    WEEK = "week"  # ISO week, Monday to Sunday
    MONTH = "month"


def period_of(kind: DigestPeriod, day: date) -> tuple[date, date]:
    """The inclusive local days of the week or month that contains `day`."""
    if kind is DigestPeriod.WEEK:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following - timedelta(days=1)


def previous_of(kind: DigestPeriod, start: date) -> tuple[date, date]:
    return period_of(kind, start - timedelta(days=1))


def history_start(kind: DigestPeriod, start: date) -> date:
    """The first day of the period HISTORY - 1 periods before the one starting on `start`."""
    for _ in range(HISTORY - 1):
        start = previous_of(kind, start)[0]
    return start


class DigestSchedule(msgspec.Struct, frozen=True, kw_only=True):
    """When a tenant's digest goes out as a `digest.ready` webhook event."""

    enabled: bool = False
    period: DigestPeriod = DigestPeriod.WEEK
    weekday: int = 1  # ISO: 1 Monday .. 7 Sunday
    hour: int = 8  # local hour, 0..23
    dimensions: tuple[str, ...] = ()
    enabled_at: datetime | None = None


def due_digest(schedule: DigestSchedule, now: datetime, timezone: str) -> tuple[date, date] | None:
    """The period whose digest is due at `now`, or None.

    The last period that has ended, once its send moment has come: the first `weekday` at
    `hour` (local) on or after the day it ended; never one whose send moment came before
    the schedule was enabled.
    """
    if not schedule.enabled:
        return None
    tz = zone(timezone)
    local = now.astimezone(tz)
    current_start, _ = period_of(schedule.period, local.date())
    wait = (schedule.weekday - current_start.isoweekday()) % 7
    moment = datetime.combine(current_start + timedelta(days=wait), time(schedule.hour), tz)
    if local < moment or (schedule.enabled_at is not None and moment < schedule.enabled_at):
        return None
    return previous_of(schedule.period, current_start)


class DigestScheduleRepository(Protocol):
    async def get(self, *, tenant_id: UUID) -> DigestSchedule: ...

    async def put(
        self, *, tenant_id: UUID, schedule: DigestSchedule, now: datetime
    ) -> DigestSchedule: ...


class FlaggedSegment(msgspec.Struct, frozen=True, kw_only=True):
    dimension: str
    group: Group
    vs_rest: VsRest


class ChangeImpact(msgspec.Struct, frozen=True, kw_only=True):
    change: ChangeRecord
    impact: Impact


class Digest(msgspec.Struct, frozen=True, kw_only=True):
    kind: DigestPeriod
    start: date
    end: date
    current: NpsSummary
    previous: NpsSummary
    previous_start: date
    previous_end: date
    comparison: Comparison  # previous (a) against current (b)
    target: TargetVerdict | None
    dimensions: list[str]
    flagged: list[FlaggedSegment]
    themes: Themes
    followups: CaseStats
    changes: list[ChangeImpact]
    history: list[Point]  # HISTORY periods, oldest first, ending with this one
    markers: list[ChangeRecord]  # changes effective within the history's range


@dataclass(frozen=True, kw_only=True)
class DigestPorts:
    uow: UnitOfWorkFactory
    counters: HistogramSource
    database: HistogramSource
    target_cache: TargetCache
    comments: CommentSource
    analyzer: CommentAnalyzer


async def build_digest(
    kind: DigestPeriod,
    day: date,
    *,
    tenant_id: UUID,
    timezone: str,
    dimensions: list[str],
    now: datetime,
    today: date,
    ports: DigestPorts,
) -> Digest:
    start, end = period_of(kind, day)
    prev_start, prev_end = previous_of(kind, start)
    query = ResultQuery(tenant_id=tenant_id, survey_id=None, start=start, end=end)
    previous_query = msgspec.structs.replace(query, start=prev_start, end=prev_end)
    results = {"counters": ports.counters, "database": ports.database}
    previous, current, comparison = await nps_compare(previous_query, query, **results)
    history = await nps_trend(
        msgspec.structs.replace(query, start=history_start(kind, start)),
        TrendInterval(kind.value),
        **results,
    )
    flagged = []
    for dimension in dimensions:
        pairs = await nps_breakdown_vs_rest(query, dimension, BreakdownSort.DIFFERENCE, **results)
        flagged += [
            FlaggedSegment(dimension=dimension, group=g, vs_rest=r)
            for g, r in pairs
            if r.flag != "in_line"
        ]
    recent = await changes_between(
        tenant_id=tenant_id, start=history[0].start, end=end, uow=ports.uow
    )
    impacts = [
        ChangeImpact(
            change=c,
            impact=await change_impact(
                c,
                window_days=IMPACT_WINDOW_DAYS,
                today=min(today, end),
                min_effect=10.0,
                **results,
            ),
        )
        for c in recent
        if c.effective_on > end - timedelta(days=CHANGES_DAYS)
    ]
    return Digest(
        kind=kind,
        start=start,
        end=end,
        current=current,
        previous=previous,
        previous_start=prev_start,
        previous_end=prev_end,
        comparison=comparison,
        target=await results_target(query, current, uow=ports.uow, cache=ports.target_cache),
        dimensions=dimensions,
        flagged=flagged,
        themes=await comment_themes(
            ThemesQuery(query=query, limit=THEMES), source=ports.comments, analyzer=ports.analyzer
        ),
        followups=await followup_stats(
            ports.uow,
            CaseFilter(tenant_id=tenant_id),
            start=start,
            end=end,
            timezone=timezone,
            now=now,
        ),
        changes=impacts,
        history=history,
        markers=recent,
    )
