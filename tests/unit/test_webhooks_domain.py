"""Webhook use-cases with in-memory fakes of the repository and the target guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import msgspec
import pytest

from domain.errors import Conflict, InvalidInput, NotFound
from domain.model import Page
from domain.webhooks import (
    Delivery,
    Endpoint,
    EndpointEdit,
    EventType,
    QueuedDelivery,
    WebhookEvent,
    create_webhook,
    new_event_id,
    redeliver,
    rotate_webhook_secret,
    send_test_event,
    update_webhook,
)

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
TENANT = uuid4()


class FakeRepo:
    def __init__(self) -> None:
        self.endpoints: dict[UUID, Endpoint] = {}
        self.secrets: dict[UUID, str] = {}
        self.queued: list[tuple[WebhookEvent, UUID]] = []
        self.redelivered: list[UUID] = []

    async def add(self, endpoint: Endpoint, *, secret: str) -> None:
        self.endpoints[endpoint.id], self.secrets[endpoint.id] = endpoint, secret

    async def get(self, *, tenant_id: UUID, endpoint_id: UUID) -> Endpoint:
        found = self.endpoints.get(endpoint_id)
        if found is None or found.tenant_id != tenant_id:
            raise NotFound("webhook not found")
        return found

    async def list(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[Endpoint]:
        raise NotImplementedError

    async def save(self, endpoint: Endpoint) -> None:
        self.endpoints[endpoint.id] = endpoint

    async def delete(self, *, tenant_id: UUID, endpoint_id: UUID) -> None:
        raise NotImplementedError

    async def rotate_secret(
        self, *, tenant_id: UUID, endpoint_id: UUID, secret: str, old_expires_at: datetime
    ) -> Endpoint:
        endpoint = await self.get(tenant_id=tenant_id, endpoint_id=endpoint_id)
        self.secrets[endpoint_id] = secret
        return msgspec.structs.replace(endpoint, previous_secret_expires_at=old_expires_at)

    async def enqueue_for(self, event: WebhookEvent, *, endpoint_id: UUID) -> QueuedDelivery:
        self.queued.append((event, endpoint_id))
        return QueuedDelivery(delivery_id=uuid4(), event_id=new_event_id())

    async def deliveries(
        self, *, tenant_id: UUID, endpoint_id: UUID, limit: int, cursor: str | None
    ) -> Page[Delivery]:
        raise NotImplementedError

    async def redeliver(self, *, tenant_id: UUID, endpoint_id: UUID, delivery_id: UUID) -> None:
        self.redelivered.append(delivery_id)


class FakeGuard:
    def __init__(self, refuse: bool = False) -> None:
        self.checked: list[str] = []
        self.refuse = refuse

    async def check(self, url: str) -> None:
        self.checked.append(url)
        if self.refuse:
            raise InvalidInput.field("url", "private")


async def _create(repo: FakeRepo, guard: FakeGuard | None = None) -> Endpoint:
    created = await create_webhook(
        tenant_id=TENANT,
        url="https://hooks.example.com/x",
        events=[EventType.RESPONSE_CREATED, EventType.WEBHOOK_TEST, EventType.RESPONSE_CREATED],
        description=None,
        now=NOW,
        repo=repo,
        guard=guard or FakeGuard(),
    )
    assert repo.secrets[created.endpoint.id] == created.secret
    return created.endpoint


async def test_create_dedupes_events_keeps_order_and_checks_the_target() -> None:
    repo, guard = FakeRepo(), FakeGuard()
    endpoint = await _create(repo, guard)
    assert endpoint.events == (EventType.RESPONSE_CREATED, EventType.WEBHOOK_TEST)
    assert endpoint.enabled and guard.checked == ["https://hooks.example.com/x"]


async def test_a_refused_target_stores_nothing() -> None:
    repo = FakeRepo()
    with pytest.raises(InvalidInput):
        await _create(repo, FakeGuard(refuse=True))
    assert repo.endpoints == {}


async def test_bad_url_is_refused_before_any_lookup() -> None:
    repo, guard = FakeRepo(), FakeGuard()
    endpoint = await _create(repo)
    with pytest.raises(InvalidInput):
        await update_webhook(
            tenant_id=TENANT,
            endpoint_id=endpoint.id,
            edit=EndpointEdit(url="gopher://x"),
            now=NOW,
            repo=repo,
            guard=guard,
        )
    assert guard.checked == []


async def test_re_enabling_clears_the_reason_and_test_events_need_an_enabled_endpoint() -> None:
    repo = FakeRepo()
    endpoint = await _create(repo)
    repo.endpoints[endpoint.id] = msgspec.structs.replace(
        endpoint, enabled=False, disabled_reason="the endpoint answered 410 Gone"
    )
    with pytest.raises(Conflict):
        await send_test_event(tenant_id=TENANT, endpoint_id=endpoint.id, now=NOW, repo=repo)
    with pytest.raises(Conflict):
        await redeliver(tenant_id=TENANT, endpoint_id=endpoint.id, delivery_id=uuid4(), repo=repo)
    updated = await update_webhook(
        tenant_id=TENANT,
        endpoint_id=endpoint.id,
        edit=EndpointEdit(enabled=True),
        now=NOW + timedelta(minutes=1),
        repo=repo,
        guard=FakeGuard(),
    )
    assert updated.enabled and updated.disabled_reason is None
    assert updated.updated_at == NOW + timedelta(minutes=1)
    await send_test_event(tenant_id=TENANT, endpoint_id=endpoint.id, now=NOW, repo=repo)
    [(event, target)] = repo.queued
    assert target == endpoint.id and event.type == EventType.WEBHOOK_TEST
    assert event.data["webhook_id"] == str(endpoint.id)


async def test_rotation_keeps_the_old_secret_for_a_day() -> None:
    repo = FakeRepo()
    endpoint = await _create(repo)
    old = repo.secrets[endpoint.id]
    rotated = await rotate_webhook_secret(
        tenant_id=TENANT, endpoint_id=endpoint.id, now=NOW, repo=repo
    )
    assert rotated.secret != old and rotated.secret.startswith("whsec_")
    assert rotated.endpoint.previous_secret_expires_at == NOW + timedelta(hours=24)


async def test_another_tenant_cannot_touch_the_endpoint() -> None:
    repo = FakeRepo()
    endpoint = await _create(repo)
    with pytest.raises(NotFound):
        await send_test_event(tenant_id=uuid4(), endpoint_id=endpoint.id, now=NOW, repo=repo)


def test_event_ids_are_msg_and_unique() -> None:
    ids = {new_event_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(i.startswith("msg_") and len(i) == 36 for i in ids)
