"""The `data` of each webhook event: the same shapes the API returns for the thing itself.

response.created carries what GET /v1/responses/{id} returns; followup.* what
GET /v1/followups/{id} returns. Instants are given in UTC, as the API stores them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.followups import Case, Status
from domain.model import SurveyResponse
from domain.nps import classify
from domain.webhooks import EventType, WebhookEvent


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(UTC)


def response_data(r: SurveyResponse) -> dict[str, Any]:
    data = {
        "id": r.id,
        "survey_id": r.survey_id,
        "score": r.score,
        "category": classify(r.score),
        "comment": r.comment,
        "customer_id": r.customer_id,
        "segments": r.segments,
        "answered_at": _utc(r.answered_at),
        "received_at": _utc(r.received_at),
        "locale": r.locale,
        "external_id": r.external_id,
        "excluded": r.excluded,
        "exclusion_reason": r.exclusion_reason,
    }
    return dict(msgspec.to_builtins(data))


def case_data(c: Case, now: datetime) -> dict[str, Any]:
    data = {
        "id": c.id,
        "response_id": c.response_id,
        "survey_id": c.survey_id,
        "customer_id": c.customer_id,
        "score": c.score,
        "comment": c.comment,
        "segments": c.segments,
        "status": c.status,
        "owner": c.owner,
        "due_at": _utc(c.due_at),
        "overdue": c.overdue(now),
        "first_contact_at": _utc(c.first_contact_at),
        "closed_at": _utc(c.closed_at),
        "resolution": c.resolution,
        "notes": [
            {"id": n.id, "author": n.author, "text": n.text, "created_at": _utc(n.created_at)}
            for n in c.notes
        ],
        "created_at": _utc(c.created_at),
        "updated_at": _utc(c.updated_at),
    }
    return dict(msgspec.to_builtins(data))


def response_created(r: SurveyResponse, now: datetime) -> WebhookEvent:
    return WebhookEvent(r.tenant_id, EventType.RESPONSE_CREATED.value, response_data(r), now)


def followup_event(kind: EventType, tenant_id: UUID, c: Case, now: datetime) -> WebhookEvent:
    return WebhookEvent(tenant_id, kind.value, case_data(c, now), now)


def opened_case(r: SurveyResponse, case_id: UUID, due_at: datetime) -> Case:
    """The case a stored answer has just opened (as the follow-ups API shows it)."""
    return Case(
        id=case_id,
        response_id=r.id,
        survey_id=r.survey_id,
        customer_id=r.customer_id,
        score=r.score,
        comment=r.comment,
        segments=r.segments,
        status=Status.OPEN,
        owner=None,
        due_at=due_at,
        first_contact_at=None,
        closed_at=None,
        resolution=None,
        notes=[],
        created_at=r.received_at,
        updated_at=r.received_at,
    )


def ingest_events(
    stored: Sequence[SurveyResponse],
    cases: Mapping[UUID, tuple[UUID, datetime]],
    hooks: Mapping[UUID, frozenset[str]],
    now: datetime,
) -> list[WebhookEvent]:
    """response.created and followup.created of answers stored now, for subscribed tenants."""
    events: list[WebhookEvent] = []
    for r in stored:
        wanted = hooks.get(r.tenant_id)
        if not wanted:
            continue
        if EventType.RESPONSE_CREATED in wanted:
            events.append(response_created(r, now))
        if EventType.FOLLOWUP_CREATED in wanted and r.id in cases:
            case = opened_case(r, *cases[r.id])
            events.append(followup_event(EventType.FOLLOWUP_CREATED, r.tenant_id, case, now))
    return events
