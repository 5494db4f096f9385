"""Changes a company made and the targets it set: entities and use-cases."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Protocol
from uuid import UUID, uuid4

import msgspec

from domain.model import Page, ResultQuery, SegmentFilter
from domain.nps import EMPTY_HISTOGRAM, NpsSummary, add_histograms, summarize
from domain.ports import HistogramSource
from domain.results import nps_for_period
from domain.stats import Comparison, compare, needed_per_group


class ChangeRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    tenant_id: UUID
    title: str
    description: str | None
    effective_on: date
    survey_id: UUID | None
    segment: SegmentFilter | None
    created_at: datetime
    updated_at: datetime


class Target(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    tenant_id: UUID
    survey_id: UUID | None
    segment: SegmentFilter | None
    nps: float
    created_at: datetime
    updated_at: datetime


class ChangeRepository(Protocol):
    async def add(self, change: ChangeRecord) -> None: ...
    async def get(self, *, tenant_id: UUID, change_id: UUID) -> ChangeRecord: ...
    async def save(self, change: ChangeRecord) -> None: ...
    async def delete(self, *, tenant_id: UUID, change_id: UUID) -> None: ...
    async def list(
        self, *, tenant_id: UUID, start: date | None, end: date | None, survey_id: UUID | None
    ) -> list[ChangeRecord]: ...
    async def page(
        self,
        *,
        tenant_id: UUID,
        start: date | None,
        end: date | None,
        survey_id: UUID | None,
        limit: int,
        cursor: str | None,
    ) -> Page[ChangeRecord]:
        """By (effective_on, id), a page at a time."""
        ...


class TargetRepository(Protocol):
    async def upsert(self, target: Target) -> Target: ...
    async def list(self, *, tenant_id: UUID) -> list[Target]: ...
    async def page(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[Target]:
        """By (created_at, id), a page at a time, uncached."""
        ...

    async def delete(self, *, tenant_id: UUID, target_id: UUID) -> None: ...


class Decision(enum.StrEnum):
    IMPROVED = "improved"
    WORSENED = "worsened"
    NO_DETECTABLE_CHANGE = "no_detectable_change"
    INSUFFICIENT_DATA = "insufficient_data"


class Impact(msgspec.Struct, frozen=True, kw_only=True):
    before: NpsSummary
    after: NpsSummary
    before_period: tuple[date, date]
    after_period: tuple[date, date]
    comparison: Comparison
    decision: Decision
    needed_per_group: int
    min_effect: float


def change_scope(change: ChangeRecord, start: date, end: date) -> ResultQuery:
    segments = (change.segment,) if change.segment else ()
    return ResultQuery(
        tenant_id=change.tenant_id,
        survey_id=change.survey_id,
        start=start,
        end=end,
        segments=segments,
    )


async def change_impact(
    change: ChangeRecord,
    *,
    window_days: int,
    today: date,
    min_effect: float,
    counters: HistogramSource,
    database: HistogramSource,
) -> Impact:
    """Before (the window ending the day before) vs after (from effective_on, capped today)."""
    before_period = (
        change.effective_on - timedelta(days=window_days),
        change.effective_on - timedelta(days=1),
    )
    after_end = min(change.effective_on + timedelta(days=window_days - 1), today)
    before = await nps_for_period(
        change_scope(change, *before_period), counters=counters, database=database
    )
    if after_end >= change.effective_on:
        after = await nps_for_period(
            change_scope(change, change.effective_on, after_end),
            counters=counters,
            database=database,
        )
    else:  # not in effect yet: nothing to compare with
        after, after_end = summarize(EMPTY_HISTOGRAM), change.effective_on
    comparison = compare(before.histogram, after.histogram)
    return Impact(
        before=before,
        after=after,
        before_period=before_period,
        after_period=(change.effective_on, after_end),
        comparison=comparison,
        decision=_decide(comparison),
        min_effect=min_effect,
        needed_per_group=needed_per_group(
            add_histograms(before.histogram, after.histogram), min_effect
        ),
    )


def _decide(c: Comparison) -> Decision:
    if c.significant is None or c.adjusted_difference is None:
        return Decision.INSUFFICIENT_DATA
    if not c.significant:
        return Decision.NO_DETECTABLE_CHANGE
    return Decision.IMPROVED if c.adjusted_difference > 0 else Decision.WORSENED


def overlaps(change: ChangeRecord, query: ResultQuery) -> bool:
    """Whether the change's scope shares answers with the query's: the rule of a trend's
    annotations. A change for all surveys, or for the query's survey, or any survey when the
    query takes all; and no segment, or one the query does not filter on, or the very value
    the query filters on. So a company-wide trend shows every change of the period, and a
    team:sales trend hides a change made for team:support only."""
    if not (change.survey_id is None or query.survey_id in (None, change.survey_id)):
        return False
    if change.segment is None:
        return True
    filtered = {s.dimension: s.value for s in query.segments}
    value = filtered.get(change.segment.dimension)
    return value is None or value == change.segment.value


class TargetVerdict(msgspec.Struct, frozen=True, kw_only=True):
    target: float
    gap: float | None
    target_met: str  # "yes" | "no" | "uncertain"


def target_for(targets: Sequence[Target], query: ResultQuery) -> Target | None:
    """The target whose scope is exactly this query's (survey or all, one segment or none)."""
    if len(query.segments) > 1:
        return None
    segment = query.segments[0] if query.segments else None
    for t in targets:
        if t.survey_id == query.survey_id and t.segment == segment:
            return t
    return None


def judge(target: Target, summary: NpsSummary) -> TargetVerdict:
    """yes: the interval's lower bound reaches the target; no: its upper bound is below."""
    if summary.nps is None or summary.ci95 is None:
        return TargetVerdict(target=target.nps, gap=None, target_met="uncertain")
    met = "uncertain"
    if summary.ci95.low >= target.nps:
        met = "yes"
    elif summary.ci95.high < target.nps:
        met = "no"
    return TargetVerdict(target=target.nps, gap=summary.nps - target.nps, target_met=met)


def new_change(
    *,
    tenant_id: UUID,
    title: str,
    description: str | None,
    effective_on: date,
    survey_id: UUID | None,
    segment: SegmentFilter | None,
    now: datetime,
) -> ChangeRecord:
    return ChangeRecord(
        id=uuid4(),
        tenant_id=tenant_id,
        title=title,
        description=description,
        effective_on=effective_on,
        survey_id=survey_id,
        segment=segment,
        created_at=now,
        updated_at=now,
    )


def new_target(
    *,
    tenant_id: UUID,
    survey_id: UUID | None,
    segment: SegmentFilter | None,
    nps: float,
    now: datetime,
) -> Target:
    return Target(
        id=uuid4(),
        tenant_id=tenant_id,
        survey_id=survey_id,
        segment=segment,
        nps=nps,
        created_at=now,
        updated_at=now,
    )


class ChangeEdit(msgspec.Struct, frozen=True, kw_only=True):
    """Fields to change; UNSET leaves a field as it is."""

    title: str | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType | None = msgspec.UNSET
    effective_on: date | msgspec.UnsetType = msgspec.UNSET
    survey_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    segment: SegmentFilter | msgspec.UnsetType | None = msgspec.UNSET


async def update_change(
    *,
    tenant_id: UUID,
    change_id: UUID,
    edit: ChangeEdit,
    now: datetime,
    repo: ChangeRepository,
) -> ChangeRecord:
    change = await repo.get(tenant_id=tenant_id, change_id=change_id)
    fields = {k: v for k, v in msgspec.structs.asdict(edit).items() if v is not msgspec.UNSET}
    updated = msgspec.structs.replace(change, **fields, updated_at=now)
    await repo.save(updated)
    return updated


async def results_target(
    targets: TargetRepository, query: ResultQuery, summary: NpsSummary
) -> TargetVerdict | None:
    """The target verdict of a result, when its scope has a target."""
    target = target_for(await targets.list(tenant_id=query.tenant_id), query)
    return judge(target, summary) if target else None
