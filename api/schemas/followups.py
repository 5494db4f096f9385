"""Follow-up cases, their notes, stats and the tenant's follow-up settings on the wire."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec

from api.schemas.common import TEXT, Name, Wire
from api.schemas.digest_schedule import DigestScheduleIn, DigestScheduleOut, schedule_out
from domain.digest import DigestSchedule
from domain.followups import (
    MAX_SLA_HOURS,
    Case,
    CaseStats,
    CaseUpdate,
    Note,
    Settings,
    Status,
)
from domain.nps import Category

Resolution = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=TEXT)]
NoteText = Annotated[str, msgspec.Meta(min_length=1, max_length=5000, pattern=TEXT)]
SlaHours = Annotated[
    int,
    msgspec.Meta(
        ge=1,
        le=MAX_SLA_HOURS,
        description="hours from the answer to a new case's deadline: 1 to 2160 (90 days)",
    ),
]


RetentionMonths = Annotated[
    int,
    msgspec.Meta(
        ge=1,
        le=600,
        description="months an answer keeps its comment and customer id: 1 to 600; null "
        "keeps them until the customer is erased",
    ),
]


class SettingsUpdate(Wire):
    followup_categories: (
        Annotated[list[Category], msgspec.Meta(max_length=3)] | msgspec.UnsetType
    ) = msgspec.UNSET
    followup_sla_hours: SlaHours | msgspec.UnsetType = msgspec.UNSET
    digest: DigestScheduleIn | msgspec.UnsetType = msgspec.UNSET
    retention_months: RetentionMonths | msgspec.UnsetType | None = msgspec.UNSET


class SettingsOut(msgspec.Struct, frozen=True, kw_only=True):
    followup_categories: list[Category]
    followup_sla_hours: SlaHours
    digest: DigestScheduleOut
    retention_months: RetentionMonths | None


class CaseUpdateIn(Wire):
    """Fields left out keep their value; `owner: null` unassigns."""

    owner: Name | msgspec.UnsetType | None = msgspec.UNSET
    status: Status | msgspec.UnsetType = msgspec.UNSET
    resolution: Resolution | msgspec.UnsetType = msgspec.UNSET

    def to_domain(self) -> CaseUpdate:
        return CaseUpdate(owner=self.owner, status=self.status, resolution=self.resolution)


class NoteCreate(Wire):
    author: Name
    text: NoteText


class NoteOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    author: str
    text: str
    created_at: datetime


class CaseOut(msgspec.Struct, frozen=True, kw_only=True):
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
    overdue: bool
    first_contact_at: datetime | None
    closed_at: datetime | None
    resolution: str | None
    notes: list[NoteOut]
    created_at: datetime
    updated_at: datetime


class CaseList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[CaseOut]
    next_cursor: str | None


class RecoveryOut(msgspec.Struct, frozen=True, kw_only=True):
    customers: int
    answered_again: int
    promoters: int
    passives: int
    detractors: int
    promoters_pct: Annotated[
        float | None,
        msgspec.Meta(
            description="percentage (0-100) of `answered_again` whose next answer was a "
            "promoter; null when nobody answered again"
        ),
    ]


class CaseStatsOut(msgspec.Struct, frozen=True, kw_only=True):
    from_: date = msgspec.field(name="from")
    to: date
    opened: int
    open: int
    in_progress: int
    overdue: int
    closed: int
    median_hours_to_first_contact: float | None
    median_hours_to_close: float | None
    recovery: RecoveryOut


def settings_out(s: Settings, digest: DigestSchedule) -> SettingsOut:
    return SettingsOut(
        followup_categories=list(s.followup_categories),
        followup_sla_hours=s.followup_sla_hours,
        digest=schedule_out(digest),
        retention_months=s.retention_months,
    )


def note_out(n: Note) -> NoteOut:
    return NoteOut(id=n.id, author=n.author, text=n.text, created_at=n.created_at)


def case_out(c: Case, now: datetime) -> CaseOut:
    return CaseOut(
        id=c.id,
        response_id=c.response_id,
        survey_id=c.survey_id,
        customer_id=c.customer_id,
        score=c.score,
        comment=c.comment,
        segments=c.segments,
        status=c.status,
        owner=c.owner,
        due_at=c.due_at,
        overdue=c.overdue(now),
        first_contact_at=c.first_contact_at,
        closed_at=c.closed_at,
        resolution=c.resolution,
        notes=[note_out(n) for n in c.notes],
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def stats_out(s: CaseStats) -> CaseStatsOut:
    r = s.recovery
    return CaseStatsOut(
        from_=s.start,
        to=s.end,
        opened=s.opened,
        open=s.open,
        in_progress=s.in_progress,
        overdue=s.overdue,
        closed=s.closed,
        median_hours_to_first_contact=s.median_hours_to_first_contact,
        median_hours_to_close=s.median_hours_to_close,
        recovery=RecoveryOut(
            customers=r.customers,
            answered_again=r.answered_again,
            promoters=r.promoters,
            passives=r.passives,
            detractors=r.detractors,
            promoters_pct=r.promoters_pct,
        ),
    )
