"""Customers, erasures and the audit log on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from api.schemas.responses import ResponseOut, response_out
from domain.customers import AuditEntry, CustomerChange, CustomerProfile, Erasure
from domain.followups import Status
from domain.model import SurveyResponse
from domain.nps import Category, classify


class LatestScore(msgspec.Struct, frozen=True, kw_only=True):
    score: int
    category: Category
    answered_at: datetime
    survey_id: UUID
    comment: str | None


LATEST = msgspec.Meta(
    description="the customer's newest answer that is not excluded (the one the list filters "
    "read); null when every answer of theirs is excluded"
)


class CustomerOut(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    latest: Annotated[LatestScore | None, LATEST]
    responses_count: int
    first_answered_at: datetime
    last_answered_at: datetime
    history: Annotated[
        list[ResponseOut],
        msgspec.Meta(
            description="the customer's last 20 answers, newest `answered_at` first "
            "(ties: newest answer id first), excluded answers included"
        ),
    ]
    open_followups: int


class CustomerChangeOut(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    updated_at: datetime
    latest: Annotated[LatestScore | None, LATEST]
    responses_count: int
    open_followups: int
    previous_category: Category | None  # of the answer before the latest (not excluded)
    followup_status: Status | None  # the latest answer's case; null: none
    followup_overdue: bool


class CustomerChangeList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[CustomerChangeOut]
    next_cursor: str | None


class ErasureOut(msgspec.Struct, frozen=True, kw_only=True):
    audit_id: UUID
    answers_anonymised: int
    erased_at: datetime


class AuditOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    action: str
    actor_key_id: UUID | None
    details: dict[str, object]
    created_at: datetime


class AuditList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[AuditOut]
    next_cursor: str | None = None


def _latest(latest: SurveyResponse) -> LatestScore:
    return LatestScore(
        score=latest.score,
        category=classify(latest.score),
        answered_at=latest.answered_at,
        survey_id=latest.survey_id,
        comment=latest.comment,
    )


def customer_out(p: CustomerProfile) -> CustomerOut:
    return CustomerOut(
        customer_id=p.customer_id,
        latest=_latest(p.latest) if p.latest else None,
        responses_count=p.responses_count,
        first_answered_at=p.first_answered_at,
        last_answered_at=p.last_answered_at,
        history=[response_out(r) for r in p.history],
        open_followups=p.open_followups,
    )


def change_out(c: CustomerChange) -> CustomerChangeOut:
    return CustomerChangeOut(
        customer_id=c.customer_id,
        updated_at=c.updated_at,
        latest=_latest(c.latest) if c.latest else None,
        responses_count=c.responses_count,
        open_followups=c.open_followups,
        previous_category=c.previous_category,
        followup_status=Status(c.followup_status) if c.followup_status else None,
        followup_overdue=c.followup_overdue,
    )


def erasure_out(e: Erasure) -> ErasureOut:
    return ErasureOut(audit_id=e.id, answers_anonymised=e.answers_anonymised, erased_at=e.erased_at)


def audit_out(a: AuditEntry) -> AuditOut:
    return AuditOut(
        id=a.id,
        action=a.action,
        actor_key_id=a.actor_key_id,
        details=a.details,
        created_at=a.created_at,
    )
