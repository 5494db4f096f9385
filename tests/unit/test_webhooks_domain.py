"""Webhook use-cases with in-memory fakes of the repository and the target guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import msgspec
import pytest

from domain.errors import Conflict, InvalidInput, NotFound
from domain.webhooks import (
    Endpoint,
    EndpointEdit,
    EventType,
    create_webhook,
    new_event_id,
    redeliver,
    rotate_webhook_secret,
    send_test_event,
    update_webhook,
)
from tests.unit.fakes import FakeStore, FakeUnitOfWorkFactory

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
TENANT = uuid4()


class FakeGuard:
    def __init__(self, refuse: bool = False) -> None:
        self.checked: list[str] = []
        self.refuse = refuse

    async def check(self, url: str) -> None:
        self.checked.append(url)
        if self.refuse:
            raise InvalidInput.field("url", "private")


class FakeRepo(FakeUnitOfWorkFactory):
    """Units of work on one store, with the store's webhook state at hand."""

    def __init__(self) -> None:
        super().__init__(FakeStore())
        self.endpoints = self.store.endpoints
        self.secrets = self.store.webhook_secrets
        self.queued = self.store.queued


async def _create(repo: FakeRepo, guard: FakeGuard | None = None) -> Endpoint:
    created = await create_webhook(
        tenant_id=TENANT,
        url="https://hooks.example.com/x",
        events=[EventType.RESPONSE_CREATED, EventType.WEBHOOK_TEST, EventType.RESPONSE_CREATED],
        description=None,
        now=NOW,
        uow=repo,
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
            uow=repo,
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
        await send_test_event(tenant_id=TENANT, endpoint_id=endpoint.id, now=NOW, uow=repo)
    with pytest.raises(Conflict):
        await redeliver(tenant_id=TENANT, endpoint_id=endpoint.id, delivery_id=uuid4(), uow=repo)
    updated = await update_webhook(
        tenant_id=TENANT,
        endpoint_id=endpoint.id,
        edit=EndpointEdit(enabled=True),
        now=NOW + timedelta(minutes=1),
        uow=repo,
        guard=FakeGuard(),
    )
    assert updated.enabled and updated.disabled_reason is None
    assert updated.updated_at == NOW + timedelta(minutes=1)
    await send_test_event(tenant_id=TENANT, endpoint_id=endpoint.id, now=NOW, uow=repo)
    [(event, target)] = repo.queued
    assert target == endpoint.id and event.type == EventType.WEBHOOK_TEST
    assert event.data["webhook_id"] == str(endpoint.id)


async def test_rotation_keeps_the_old_secret_for_a_day() -> None:
    repo = FakeRepo()
    endpoint = await _create(repo)
    old = repo.secrets[endpoint.id]
    rotated = await rotate_webhook_secret(
        tenant_id=TENANT, endpoint_id=endpoint.id, now=NOW, uow=repo
    )
    assert rotated.secret != old and rotated.secret.startswith("whsec_")
    assert rotated.endpoint.previous_secret_expires_at == NOW + timedelta(hours=24)


async def test_another_tenant_cannot_touch_the_endpoint() -> None:
    repo = FakeRepo()
    endpoint = await _create(repo)
    with pytest.raises(NotFound):
        await send_test_event(tenant_id=uuid4(), endpoint_id=endpoint.id, now=NOW, uow=repo)


def test_event_ids_are_msg_and_unique() -> None:
    ids = {new_event_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(i.startswith("msg_") and len(i) == 36 for i in ids)


class ObservingGuard:
    """Records, at each check, how many units were opened and whether all had ended."""

    def __init__(self, uow: FakeUnitOfWorkFactory) -> None:
        self.uow = uow
        self.seen: list[tuple[int, bool]] = []

    async def check(self, url: str) -> None:
        self.seen.append((len(self.uow.units), all(u.committed for u in self.uow.units)))


async def test_a_new_target_is_checked_with_no_transaction_open() -> None:
    repo = FakeRepo()
    endpoint = await _create(repo)
    before = len(repo.units)
    guard = ObservingGuard(repo)
    await update_webhook(
        tenant_id=TENANT,
        endpoint_id=endpoint.id,
        edit=EndpointEdit(url="https://other.example.com/y"),
        now=NOW,
        uow=repo,
        guard=guard,
    )
    assert guard.seen == [(before + 1, True)]  # the read's unit had ended; the save's not begun
    assert repo.endpoints[endpoint.id].url == "https://other.example.com/y"
    assert len(repo.units) == before + 2 and repo.opened[-2:] == [TENANT, TENANT]


async def test_a_test_event_for_a_disabled_endpoint_rolls_back_and_queues_nothing() -> None:
    repo = FakeRepo()
    endpoint = await _create(repo)
    repo.endpoints[endpoint.id] = msgspec.structs.replace(endpoint, enabled=False)
    with pytest.raises(Conflict):
        await send_test_event(tenant_id=TENANT, endpoint_id=endpoint.id, now=NOW, uow=repo)
    assert not repo.units[-1].committed and repo.queued == []
