"""Webhooks: endpoints of a tenant, the events they subscribe to, deliveries and use-cases."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import msgspec

from domain.errors import Conflict
from domain.model import Page
from domain.webhook_signing import ROTATION_OVERLAP, check_url, new_secret

if TYPE_CHECKING:
    from domain.ports import TargetGuard, UnitOfWorkFactory, WebhookRepository

TEST_MESSAGE = "A test event from nps-api."


class EventType(enum.StrEnum):
    RESPONSE_CREATED = "response.created"
    FOLLOWUP_CREATED = "followup.created"
    FOLLOWUP_UPDATED = "followup.updated"
    FOLLOWUP_OVERDUE = "followup.overdue"
    DIGEST_READY = "digest.ready"
    WEBHOOK_TEST = "webhook.test"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class WebhookEvent(msgspec.Struct, frozen=True):
    """Something that happened, to be delivered to the subscribed endpoints of the tenant."""

    tenant_id: UUID
    type: str
    data: dict[str, Any]
    created_at: datetime


def new_event_id() -> str:
    """`msg_` and 32 random hex digits: the webhook-id receivers dedupe on."""
    return "msg_" + secrets.token_hex(16)


class Endpoint(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    tenant_id: UUID
    url: str
    description: str | None
    events: tuple[EventType, ...]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime
    previous_secret_expires_at: datetime | None = None


class EndpointWithSecret(msgspec.Struct, frozen=True, kw_only=True):
    """An endpoint and its signing secret, the only time the secret is shown."""

    endpoint: Endpoint
    secret: str


class EndpointEdit(msgspec.Struct, frozen=True, kw_only=True):
    """Fields to change; UNSET leaves a field as it is."""

    url: str | msgspec.UnsetType = msgspec.UNSET
    events: list[EventType] | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType | None = msgspec.UNSET


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    endpoint_id: UUID
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    attempt_list: list[Attempt]


class QueuedDelivery(msgspec.Struct, frozen=True, kw_only=True):
    delivery_id: UUID
    event_id: str


def _events(events: list[EventType]) -> tuple[EventType, ...]:
    return tuple(dict.fromkeys(events))


async def create_webhook(
    *,
    tenant_id: UUID,
    url: str,
    events: list[EventType],
    description: str | None,
    now: datetime,
    uow: UnitOfWorkFactory,
    guard: TargetGuard,
) -> EndpointWithSecret:
    """The target is checked (DNS included) before the transaction opens."""
    check_url(url)
    await guard.check(url)
    endpoint = Endpoint(
        id=uuid4(),
        tenant_id=tenant_id,
        url=url,
        description=description,
        events=_events(events),
        enabled=True,
        disabled_reason=None,
        created_at=now,
        updated_at=now,
    )
    secret = new_secret()
    async with uow(tenant_id) as tx:
        await tx.webhooks.add(endpoint, secret=secret)
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


async def list_webhooks(
    *, tenant_id: UUID, limit: int, cursor: str | None, uow: UnitOfWorkFactory
) -> Page[Endpoint]:
    async with uow(tenant_id) as tx:
        return await tx.webhooks.list(tenant_id=tenant_id, limit=limit, cursor=cursor)


async def get_webhook(*, tenant_id: UUID, endpoint_id: UUID, uow: UnitOfWorkFactory) -> Endpoint:
    async with uow(tenant_id) as tx:
        return await tx.webhooks.get(tenant_id=tenant_id, endpoint_id=endpoint_id)


async def delete_webhook(*, tenant_id: UUID, endpoint_id: UUID, uow: UnitOfWorkFactory) -> None:
    async with uow(tenant_id) as tx:
        await tx.webhooks.delete(tenant_id=tenant_id, endpoint_id=endpoint_id)


async def update_webhook(
    *,
    tenant_id: UUID,
    endpoint_id: UUID,
    edit: EndpointEdit,
    now: datetime,
    uow: UnitOfWorkFactory,
    guard: TargetGuard,
) -> Endpoint:
    """Re-enabling clears the reason it was disabled.

    Two units of work: the new target's check (a DNS lookup, up to its timeout) runs between
    reading the endpoint and saving it, so no transaction is held open across the network.
    """
    async with uow(tenant_id) as tx:
        endpoint = await tx.webhooks.get(tenant_id=tenant_id, endpoint_id=endpoint_id)
    fields: dict[str, Any] = {
        k: v for k, v in msgspec.structs.asdict(edit).items() if v is not msgspec.UNSET
    }
    if "url" in fields:
        check_url(fields["url"])
        await guard.check(fields["url"])
    if "events" in fields:
        fields["events"] = _events(fields["events"])
    if fields.get("enabled") is True:
        fields["disabled_reason"] = None
    updated = msgspec.structs.replace(endpoint, **fields, updated_at=now)
    async with uow(tenant_id) as tx:
        await tx.webhooks.save(updated)
    return updated


async def rotate_webhook_secret(
    *, tenant_id: UUID, endpoint_id: UUID, now: datetime, uow: UnitOfWorkFactory
) -> EndpointWithSecret:
    """A new secret; the current one keeps signing alongside for ROTATION_OVERLAP."""
    secret = new_secret()
    async with uow(tenant_id) as tx:
        endpoint = await tx.webhooks.rotate_secret(
            tenant_id=tenant_id,
            endpoint_id=endpoint_id,
            secret=secret,
            old_expires_at=now + ROTATION_OVERLAP,
        )
    return EndpointWithSecret(endpoint=endpoint, secret=secret)


async def _enabled(repo: WebhookRepository, tenant_id: UUID, endpoint_id: UUID) -> Endpoint:
    endpoint = await repo.get(tenant_id=tenant_id, endpoint_id=endpoint_id)
    if not endpoint.enabled:
        raise Conflict("the webhook is disabled: enable it first (PATCH enabled=true)")
    return endpoint


async def send_test_event(
    *, tenant_id: UUID, endpoint_id: UUID, now: datetime, uow: UnitOfWorkFactory
) -> QueuedDelivery:
    """Queue a webhook.test event for this endpoint only."""
    async with uow(tenant_id) as tx:
        endpoint = await _enabled(tx.webhooks, tenant_id, endpoint_id)
        event = WebhookEvent(
            tenant_id=tenant_id,
            type=EventType.WEBHOOK_TEST,
            data={"webhook_id": str(endpoint.id), "message": TEST_MESSAGE},
            created_at=now,
        )
        return await tx.webhooks.enqueue_for(event, endpoint_id=endpoint.id)


async def list_deliveries(
    *, tenant_id: UUID, endpoint_id: UUID, limit: int, cursor: str | None, uow: UnitOfWorkFactory
) -> Page[Delivery]:
    async with uow(tenant_id) as tx:
        return await tx.webhooks.deliveries(
            tenant_id=tenant_id, endpoint_id=endpoint_id, limit=limit, cursor=cursor
        )


async def redeliver(
    *, tenant_id: UUID, endpoint_id: UUID, delivery_id: UUID, uow: UnitOfWorkFactory
) -> None:
    """Make a delivery due now with a fresh retry budget, also after it failed."""
    async with uow(tenant_id) as tx:
        await _enabled(tx.webhooks, tenant_id, endpoint_id)
        await tx.webhooks.redeliver(
            tenant_id=tenant_id, endpoint_id=endpoint_id, delivery_id=delivery_id
        )
