"""Changes a company made and the targets it set: entities and use-cases."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from uuid import UUID, uuid4

import msgspec

from domain.model import Page, ResultQuery, SegmentFilter
from domain.nps import EMPTY_HISTOGRAM, NpsSummary, add_histograms, summarize
from domain.ports import HistogramSource, TargetCache, UnitOfWork, UnitOfWorkFactory
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
    stored_histograms: HistogramSource,
) -> Impact:
    """Before (the window ending the day before) vs after (from effective_on, capped today)."""
    before_period = (
        change.effective_on - timedelta(days=window_days),
        change.effective_on - timedelta(days=1),
    )
    after_end = min(change.effective_on + timedelta(days=window_days - 1), today)
    before = await nps_for_period(
        change_scope(change, *before_period), counters=counters, stored_histograms=stored_histograms
    )
    if after_end >= change.effective_on:
        after = await nps_for_period(
            change_scope(change, change.effective_on, after_end),
            counters=counters,
            stored_histograms=stored_histograms,
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


async def _check_survey(tx: UnitOfWork, tenant_id: UUID, survey_id: UUID | None) -> None:
    """A survey id given for a scope must be one of the tenant's surveys (else NotFound)."""
    if survey_id is not None:
        await tx.surveys.get(tenant_id=tenant_id, survey_id=survey_id)


async def record_change(change: ChangeRecord, *, uow: UnitOfWorkFactory) -> ChangeRecord:
    async with uow(change.tenant_id) as tx:
        await _check_survey(tx, change.tenant_id, change.survey_id)
        await tx.changes.add(change)
    return change


async def get_change(*, tenant_id: UUID, change_id: UUID, uow: UnitOfWorkFactory) -> ChangeRecord:
    async with uow(tenant_id) as tx:
        return await tx.changes.get(tenant_id=tenant_id, change_id=change_id)


async def list_changes(
    *,
    tenant_id: UUID,
    start: date | None,
    end: date | None,
    survey_id: UUID | None,
    limit: int,
    cursor: str | None,
    uow: UnitOfWorkFactory,
) -> Page[ChangeRecord]:
    async with uow(tenant_id) as tx:
        return await tx.changes.page(
            tenant_id=tenant_id,
            start=start,
            end=end,
            survey_id=survey_id,
            limit=limit,
            cursor=cursor,
        )


async def changes_between(
    *, tenant_id: UUID, start: date, end: date, uow: UnitOfWorkFactory
) -> list[ChangeRecord]:
    """The changes effective from `start` to `end` (inclusive), any survey (at most 1,000)."""
    async with uow(tenant_id) as tx:
        return await tx.changes.list(tenant_id=tenant_id, start=start, end=end, survey_id=None)


async def update_change(
    *,
    tenant_id: UUID,
    change_id: UUID,
    edit: ChangeEdit,
    now: datetime,
    uow: UnitOfWorkFactory,
) -> ChangeRecord:
    async with uow(tenant_id) as tx:
        if isinstance(edit.survey_id, UUID):
            await _check_survey(tx, tenant_id, edit.survey_id)
        change = await tx.changes.get(tenant_id=tenant_id, change_id=change_id)
        fields = {k: v for k, v in msgspec.structs.asdict(edit).items() if v is not msgspec.UNSET}
        updated = msgspec.structs.replace(change, **fields, updated_at=now)
        await tx.changes.save(updated)
    return updated


async def delete_change(*, tenant_id: UUID, change_id: UUID, uow: UnitOfWorkFactory) -> None:
    async with uow(tenant_id) as tx:
        await tx.changes.delete(tenant_id=tenant_id, change_id=change_id)


async def impact_of_change(
    *,
    tenant_id: UUID,
    change_id: UUID,
    window_days: int,
    today: date,
    min_effect: float,
    uow: UnitOfWorkFactory,
    counters: HistogramSource,
    stored_histograms: HistogramSource,
) -> tuple[ChangeRecord, Impact]:
    """The change and its impact; its transaction ends before the histograms are read."""
    change = await get_change(tenant_id=tenant_id, change_id=change_id, uow=uow)
    impact = await change_impact(
        change,
        window_days=window_days,
        today=today,
        min_effect=min_effect,
        counters=counters,
        stored_histograms=stored_histograms,
    )
    return change, impact


async def set_target(target: Target, *, uow: UnitOfWorkFactory, cache: TargetCache) -> Target:
    """Upsert the target of a scope; this process's cached targets of the tenant go."""
    async with uow(target.tenant_id) as tx:
        await _check_survey(tx, target.tenant_id, target.survey_id)
        stored = await tx.targets.upsert(target)
    cache.drop(target.tenant_id)
    return stored


async def list_targets(
    *, tenant_id: UUID, limit: int, cursor: str | None, uow: UnitOfWorkFactory
) -> Page[Target]:
    """A page of targets, read from the database (not the cache)."""
    async with uow(tenant_id) as tx:
        return await tx.targets.page(tenant_id=tenant_id, limit=limit, cursor=cursor)


async def delete_target(
    *, tenant_id: UUID, target_id: UUID, uow: UnitOfWorkFactory, cache: TargetCache
) -> None:
    try:
        async with uow(tenant_id) as tx:
            await tx.targets.delete(tenant_id=tenant_id, target_id=target_id)
    finally:
        cache.drop(tenant_id)


async def tenant_targets(
    tenant_id: UUID, *, uow: UnitOfWorkFactory, cache: TargetCache
) -> list[Target]:
    """Every target of the tenant, from the cache when it holds them (no transaction)."""
    found = cache.get(tenant_id)
    if found is None:
        async with uow(tenant_id) as tx:
            found = await tx.targets.list(tenant_id=tenant_id)
        cache.put(tenant_id, found)
    return found


async def results_target(
    query: ResultQuery, summary: NpsSummary, *, uow: UnitOfWorkFactory, cache: TargetCache
) -> TargetVerdict | None:
    """The target verdict of a result, when its scope has a target."""
    target = target_for(await tenant_targets(query.tenant_id, uow=uow, cache=cache), query)
    return judge(target, summary) if target else None
