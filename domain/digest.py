"""Use-case: the huddle digest of one week or month, built from the existing use-cases."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
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
from domain.insights import Themes, ThemesQuery, comment_themes
from domain.model import ResultQuery
from domain.nps import NpsSummary
from domain.periods import TrendInterval, zone
from domain.ports import CommentAnalyzer, HistogramSource, TargetCache, UnitOfWorkFactory
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
from domain.webhooks import EventType, WebhookEvent

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


class ScheduledDigest(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant's enabled schedule, with the zone its send moments are in."""

    tenant_id: UUID
    timezone: str
    schedule: DigestSchedule


class DueDigest(msgspec.Struct, frozen=True, kw_only=True):
    """A scheduled digest whose period (starting on `start`) is due and not sent yet."""

    tenant_id: UUID
    timezone: str
    schedule: DigestSchedule
    start: date


# The `digest.ready` event's data for (tenant, zone, period, day, dimensions, now): the
# digest as the API renders it.
RenderDigest = Callable[
    [UUID, str, DigestPeriod, date, list[str], datetime], Awaitable[dict[str, Any]]
]


async def digest_schedule(*, tenant_id: UUID, uow: UnitOfWorkFactory) -> DigestSchedule:
    async with uow(tenant_id) as tx:
        return await tx.digest_schedules.get(tenant_id=tenant_id)


async def set_digest_schedule(
    *, tenant_id: UUID, schedule: DigestSchedule, now: datetime, uow: UnitOfWorkFactory
) -> DigestSchedule:
    async with uow(tenant_id) as tx:
        return await tx.digest_schedules.put(tenant_id=tenant_id, schedule=schedule, now=now)


async def digests_due(now: datetime, *, uow: UnitOfWorkFactory) -> list[DueDigest]:
    """Every tenant's digest due at `now` that no process has sent: work across tenants."""
    async with uow() as tx:
        due = [
            DueDigest(
                tenant_id=s.tenant_id, timezone=s.timezone, schedule=s.schedule, start=period[0]
            )
            for s in await tx.digest_schedules.scheduled()
            if (period := due_digest(s.schedule, now, s.timezone)) is not None
        ]
        sent = await tx.digest_schedules.sent(due) if due else set()
    return [d for d in due if (d.tenant_id, d.schedule.period, d.start) not in sent]


async def send_digest(
    due: DueDigest, now: datetime, *, uow: UnitOfWorkFactory, render: RenderDigest
) -> bool:
    """Render the digest outside any transaction, then claim its period and queue its
    `digest.ready` event in one transaction of the tenant. False when another process
    has sent it or is claiming it right now (its claim decides)."""
    data = await render(
        due.tenant_id,
        due.timezone,
        due.schedule.period,
        due.start,
        list(due.schedule.dimensions),
        now,
    )
    event = WebhookEvent(
        tenant_id=due.tenant_id, type=EventType.DIGEST_READY, data=data, created_at=now
    )
    async with uow(due.tenant_id) as tx:
        return await tx.digest_schedules.claim(due, event=event, now=now)


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
    stored_histograms: HistogramSource
    target_cache: TargetCache
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
    results = {"counters": ports.counters, "stored_histograms": ports.stored_histograms}
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
            ThemesQuery(query=query, limit=THEMES), uow=ports.uow, analyzer=ports.analyzer
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
