"""Follow-up cases: a detractor answer opens a case someone owns, contacts and closes."""

from __future__ import annotations

import enum
import statistics
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec

from domain.errors import Conflict, InvalidInput
from domain.model import Page
from domain.nps import Category
from domain.periods import utc_bounds

if TYPE_CHECKING:
    from domain.ports import UnitOfWorkFactory


class Status(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


# Contact moves a case forward; only a closed case goes back (reopened).
TRANSITIONS: dict[Status, tuple[Status, ...]] = {
    Status.OPEN: (Status.IN_PROGRESS, Status.CLOSED),
    Status.IN_PROGRESS: (Status.CLOSED,),
    Status.CLOSED: (Status.OPEN,),
}
MAX_SLA_HOURS = 24 * 90


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    followup_categories: tuple[Category, ...] = (Category.DETRACTOR,)
    followup_sla_hours: int = 48
    retention_months: int | None = None  # answers older lose comment and customer id


class Note(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    author: str
    text: str
    created_at: datetime


class Case(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    response_id: UUID
    survey_id: UUID
    customer_id: str | None
    score: int
    comment: str | None
    segments: dict[str, str]
    status: Status
    owner: str | None
    due_at: datetime
    first_contact_at: datetime | None
    closed_at: datetime | None
    resolution: str | None
    notes: list[Note]
    created_at: datetime
    updated_at: datetime

    def overdue(self, now: datetime) -> bool:
        return self.status is not Status.CLOSED and self.due_at < now


_UNSET = msgspec.UNSET


class CaseUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """A PATCH: fields left UNSET keep their value; owner None unassigns."""

    owner: str | msgspec.UnsetType | None = _UNSET
    status: Status | msgspec.UnsetType = _UNSET
    resolution: str | msgspec.UnsetType = _UNSET


class CaseChange(msgspec.Struct, frozen=True, kw_only=True):
    """The columns a PATCH writes, decided by `apply_update`."""

    owner: str | None
    status: Status
    first_contact_at: datetime | None
    closed_at: datetime | None
    resolution: str | None


def apply_update(case: Case, update: CaseUpdate, now: datetime) -> CaseChange:
    """The case after `update`; Conflict names the allowed moves of an illegal transition."""
    status = case.status if update.status is _UNSET else update.status
    assert isinstance(status, Status)
    if status is not case.status and status not in TRANSITIONS[case.status]:
        allowed = ", ".join(s.value for s in TRANSITIONS[case.status])
        raise Conflict(
            f"a case that is {case.status.value} cannot become {status.value}; allowed: {allowed}"
        )
    resolution = case.resolution if update.resolution is _UNSET else update.resolution
    if update.resolution is not _UNSET and status is not Status.CLOSED:
        raise InvalidInput.field("resolution", "is given when the case is closed")
    first_contact_at, closed_at = case.first_contact_at, case.closed_at
    if status is Status.IN_PROGRESS and first_contact_at is None:
        first_contact_at = now
    if status is Status.CLOSED and case.status is not Status.CLOSED:
        if not resolution:
            raise InvalidInput.field("resolution", "is required to close a case")
        closed_at = now
    if status is Status.OPEN and case.status is Status.CLOSED:  # reopened
        closed_at, resolution = None, None
    owner = case.owner if update.owner is _UNSET else update.owner
    assert not isinstance(owner, msgspec.UnsetType)
    assert not isinstance(resolution, msgspec.UnsetType)
    return CaseChange(
        owner=owner,
        status=status,
        first_contact_at=first_contact_at,
        closed_at=closed_at,
        resolution=resolution,
    )


class CaseFilter(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: UUID
    status: Status | None = None
    owner: str | None = None
    overdue_at: datetime | None = None  # only cases not closed and due before this instant
    survey_id: UUID | None = None
    segments: dict[str, str] = {}


class Recovery(msgspec.Struct, frozen=True, kw_only=True):
    """Customers whose case closed, and what they answered next (their first later answer)."""

    customers: int
    answered_again: int
    promoters: int
    passives: int
    detractors: int

    @property
    def promoters_pct(self) -> float | None:
        """Percentage (0-100, like every *_pct) of those who answered again as promoters."""
        return 100 * self.promoters / self.answered_again if self.answered_again else None


class CaseTimes(msgspec.Struct, frozen=True, kw_only=True):
    """What stats need of one case created in the period."""

    status: Status
    overdue: bool
    created_at: datetime
    first_contact_at: datetime | None
    closed_at: datetime | None


class CaseStats(msgspec.Struct, frozen=True, kw_only=True):
    start: date
    end: date
    opened: int
    open: int
    in_progress: int
    overdue: int
    closed: int
    median_hours_to_first_contact: float | None
    median_hours_to_close: float | None
    recovery: Recovery


def _median_hours(spans: Sequence[float]) -> float | None:
    return round(statistics.median(spans) / 3600, 2) if spans else None


def case_stats(start: date, end: date, cases: Sequence[CaseTimes], recovery: Recovery) -> CaseStats:
    """Counts by status and median times over the cases opened in [start, end]."""
    contact = [
        (c.first_contact_at - c.created_at).total_seconds()
        for c in cases
        if c.first_contact_at is not None
    ]
    close = [(c.closed_at - c.created_at).total_seconds() for c in cases if c.closed_at is not None]
    return CaseStats(
        start=start,
        end=end,
        opened=len(cases),
        open=sum(c.status is Status.OPEN for c in cases),
        in_progress=sum(c.status is Status.IN_PROGRESS for c in cases),
        overdue=sum(c.overdue for c in cases),
        closed=sum(c.status is Status.CLOSED for c in cases),
        median_hours_to_first_contact=_median_hours(contact),
        median_hours_to_close=_median_hours(close),
        recovery=recovery,
    )


def validate_settings(categories: Sequence[Category] | None, sla_hours: int | None) -> None:
    if categories is not None and len(set(categories)) != len(categories):
        raise InvalidInput.field("followup_categories", "lists a category twice")
    if sla_hours is not None and not 1 <= sla_hours <= MAX_SLA_HOURS:
        raise InvalidInput.field("followup_sla_hours", f"must be 1 to {MAX_SLA_HOURS}")


async def list_cases(
    uow: UnitOfWorkFactory, flt: CaseFilter, *, limit: int, cursor: str | None
) -> Page[Case]:
    async with uow(flt.tenant_id) as tx:
        return await tx.followups.list(flt, limit=limit, cursor=cursor)


async def get_case(uow: UnitOfWorkFactory, *, tenant_id: UUID, case_id: UUID) -> Case:
    async with uow(tenant_id) as tx:
        return await tx.followups.get(tenant_id=tenant_id, case_id=case_id)


async def update_case(
    uow: UnitOfWorkFactory, *, tenant_id: UUID, case_id: UUID, update: CaseUpdate, now: datetime
) -> Case:
    """Lock the case, decide its change, write it (with its followup.updated event)."""
    async with uow(tenant_id) as tx:
        case = await tx.followups.get(tenant_id=tenant_id, case_id=case_id, lock=True)
        change = apply_update(case, update, now)
        return await tx.followups.update(
            tenant_id=tenant_id, case_id=case_id, change=change, now=now
        )


async def add_note(
    uow: UnitOfWorkFactory, *, tenant_id: UUID, case_id: UUID, author: str, text: str, now: datetime
) -> Note:
    async with uow(tenant_id) as tx:
        return await tx.followups.add_note(
            tenant_id=tenant_id, case_id=case_id, author=author, text=text, now=now
        )


async def followup_stats(
    uow: UnitOfWorkFactory,
    flt: CaseFilter,
    *,
    start: date,
    end: date,
    timezone: str,
    now: datetime,
) -> CaseStats:
    """Stats of the cases opened on the local days start..end of the tenant's zone."""
    lo, hi = utc_bounds(start, end, timezone)
    async with uow(flt.tenant_id) as tx:
        cases, recovery = await tx.followups.stats(flt, start=lo, end=hi, now=now)
    return case_stats(start, end, cases, recovery)


async def followup_settings(uow: UnitOfWorkFactory, *, tenant_id: UUID) -> Settings:
    async with uow(tenant_id) as tx:
        return await tx.followups.settings(tenant_id=tenant_id)


async def update_followup_settings(
    uow: UnitOfWorkFactory,
    *,
    tenant_id: UUID,
    categories: Sequence[Category] | None,
    sla_hours: int | None,
    now: datetime,
    retention_months: int | msgspec.UnsetType | None = msgspec.UNSET,
) -> Settings:
    """Check and store what a PATCH gives; None (or UNSET) keeps a setting."""
    validate_settings(categories, sla_hours)
    async with uow(tenant_id) as tx:
        return await tx.followups.update_settings(
            tenant_id=tenant_id,
            categories=categories,
            sla_hours=sla_hours,
            now=now,
            retention_months=retention_months,
        )
