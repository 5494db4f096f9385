"""Answers on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from api.errors import ProblemDetails
from api.schemas.common import TEXT, Comment, Score, Segments, ShortText, Wire
from domain.model import SurveyResponse
from domain.nps import Category, classify
from domain.responses import NewResponse

AwareDatetime = Annotated[
    datetime,
    msgspec.Meta(
        tz=True,
        description="RFC 3339 with offset, from 2000-01-01T00:00:00Z to 5 minutes ahead; "
        "default: now",
    ),
]
MAX_BATCH = 1000


class ResponseCreate(Wire, gc=False):
    survey_id: UUID
    score: Score
    comment: Comment | None = None
    customer_id: ShortText | None = None
    segments: Segments = {}
    answered_at: AwareDatetime | None = None
    locale: Annotated[str, msgspec.Meta(min_length=2, max_length=35, pattern=TEXT)] | None = None
    external_id: ShortText | None = None

    def to_domain(self) -> NewResponse:
        return NewResponse(
            survey_id=self.survey_id,
            score=self.score,
            comment=self.comment,
            customer_id=self.customer_id,
            segments=dict(self.segments),
            answered_at=self.answered_at,
            locale=self.locale,
            external_id=self.external_id,
        )


class BatchCreate(Wire):
    responses: Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class BatchCreateDoc(Wire):
    """The documented shape of BatchCreate (items are validated one by one)."""

    responses: Annotated[list[ResponseCreate], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


class ResponseOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    survey_id: UUID
    score: int
    category: Category
    comment: str | None
    customer_id: str | None
    segments: dict[str, str]
    answered_at: datetime
    received_at: datetime
    locale: str | None
    external_id: str | None
    excluded: bool = False
    exclusion_reason: str | None = None


class ResponseUpdate(Wire):
    """Exclude an answer from every calculation (test answers, fraud), or include it again."""

    excluded: bool
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=TEXT)] | None = None


class ResponseList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[ResponseOut]
    next_cursor: str | None


class BatchItemResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    index: int
    status: int
    id: UUID | None = None
    error: ProblemDetails | None = None


class BatchResult(msgspec.Struct, frozen=True, kw_only=True):
    results: list[BatchItemResult]


def response_out(r: SurveyResponse) -> ResponseOut:
    return ResponseOut(
        id=r.id,
        survey_id=r.survey_id,
        score=r.score,
        category=classify(r.score),
        comment=r.comment,
        customer_id=r.customer_id,
        segments=r.segments,
        answered_at=r.answered_at,
        received_at=r.received_at,
        locale=r.locale,
        external_id=r.external_id,
        excluded=r.excluded,
        exclusion_reason=r.exclusion_reason,
    )
