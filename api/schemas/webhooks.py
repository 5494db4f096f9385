"""Webhook endpoints, deliveries and event payloads on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from api.schemas.common import TEXT, Wire
from domain.webhook_signing import MAX_URL
from domain.webhooks import Attempt, Delivery, DeliveryStatus, Endpoint, EventType

Url = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_URL,
        pattern=TEXT,
        description="http(s) URL that receives the events as POST requests; private, "
        "loopback and link-local addresses are refused",
    ),
]
Events = Annotated[
    list[EventType],
    msgspec.Meta(min_length=1, max_length=20, description="event types to receive"),
]
Description = Annotated[str, msgspec.Meta(max_length=500, pattern=TEXT)]


class WebhookCreate(Wire):
    url: Url
    events: Events
    description: Description | None = None


class WebhookUpdate(Wire):
    url: Url | msgspec.UnsetType = msgspec.UNSET
    events: Events | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType | None = msgspec.UNSET


class WebhookOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    url: str
    events: list[EventType]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut, frozen=True, kw_only=True):
    secret: str


class WebhookList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[WebhookOut]
    next_cursor: str | None


class SecretRotated(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    secret: str
    previous_secret_expires_at: datetime | None


class DeliveryQueued(msgspec.Struct, frozen=True, kw_only=True):
    delivery_id: UUID
    event_id: str


class AttemptOut(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    event_id: str
    event_type: EventType
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    attempt_list: list[AttemptOut]


class DeliveryList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[DeliveryOut]
    next_cursor: str | None


def webhook_out(e: Endpoint) -> WebhookOut:
    return WebhookOut(
        id=e.id,
        url=e.url,
        events=list(e.events),
        description=e.description,
        enabled=e.enabled,
        disabled_reason=e.disabled_reason,
        previous_secret_expires_at=e.previous_secret_expires_at,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def webhook_created(e: Endpoint, secret: str) -> WebhookCreated:
    return WebhookCreated(**msgspec.structs.asdict(webhook_out(e)), secret=secret)


def _attempt_out(a: Attempt) -> AttemptOut:
    return AttemptOut(at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)


def delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        event_id=d.event_id,
        event_type=EventType(d.event_type),
        status=d.status,
        attempts=d.attempts,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        next_attempt_at=d.next_attempt_at,
        created_at=d.created_at,
        attempt_list=[_attempt_out(a) for a in d.attempt_list],
    )
