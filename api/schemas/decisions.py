"""Changes, impacts and targets on the wire."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec

from api.schemas.common import SEGMENT_FILTER, TEXT, Wire
from api.schemas.results import CompareResult
from domain.decisions import ChangeRecord, Decision, Target

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=TEXT)]
Description = Annotated[str, msgspec.Meta(max_length=5000, pattern=TEXT)]
SegmentText = Annotated[
    str, msgspec.Meta(max_length=141, pattern=SEGMENT_FILTER, description="dimension:value")
]
TargetNps = Annotated[float, msgspec.Meta(ge=-100, le=100)]


class ChangeCreate(Wire):
    title: Title
    effective_on: date
    description: Description | None = None
    survey_id: UUID | None = None
    segment: SegmentText | None = None


class ChangeUpdate(Wire):
    title: Title | msgspec.UnsetType = msgspec.UNSET
    effective_on: date | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType | None = msgspec.UNSET
    survey_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    segment: SegmentText | msgspec.UnsetType | None = msgspec.UNSET


class ChangeOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    title: str
    description: str | None
    effective_on: date
    survey_id: UUID | None
    segment: str | None
    created_at: datetime
    updated_at: datetime


class ChangeList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[ChangeOut]
    next_cursor: str | None = None


class Impact(CompareResult, frozen=True, kw_only=True):
    change: ChangeOut
    window_days: int
    decision: Decision
    min_effect: float
    needed_per_group: int


class TargetPut(Wire):
    nps: TargetNps
    survey_id: UUID | None = None
    segment: SegmentText | None = None


class TargetOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    survey_id: UUID | None
    segment: str | None
    nps: float
    created_at: datetime
    updated_at: datetime


class TargetList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[TargetOut]
    next_cursor: str | None = None


def change_out(c: ChangeRecord) -> ChangeOut:
    return ChangeOut(
        id=c.id,
        title=c.title,
        description=c.description,
        effective_on=c.effective_on,
        survey_id=c.survey_id,
        segment=f"{c.segment.dimension}:{c.segment.value}" if c.segment else None,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def target_out(t: Target) -> TargetOut:
    return TargetOut(
        id=t.id,
        survey_id=t.survey_id,
        nps=t.nps,
        created_at=t.created_at,
        updated_at=t.updated_at,
        segment=f"{t.segment.dimension}:{t.segment.value}" if t.segment else None,
    )
