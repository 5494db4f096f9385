"""Surveys on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from api.schemas.common import TEXT, Name, Wire
from domain.model import Survey, SurveyKind

Question = Annotated[str, msgspec.Meta(min_length=1, max_length=1000, pattern=TEXT)]


class SurveyCreate(Wire):
    name: Name
    kind: SurveyKind
    question: Question | None = None


class SurveyUpdate(Wire):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    kind: SurveyKind | msgspec.UnsetType = msgspec.UNSET
    question: Question | msgspec.UnsetType | None = msgspec.UNSET


class SurveyOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    question: str | None
    kind: SurveyKind
    archived: bool
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SurveyList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[SurveyOut]
    next_cursor: str | None


def survey_out(s: Survey) -> SurveyOut:
    return SurveyOut(
        id=s.id,
        name=s.name,
        question=s.question,
        kind=s.kind,
        archived=s.archived_at is not None,
        archived_at=s.archived_at,
        created_at=s.created_at,
        updated_at=s.updated_at,
    )
