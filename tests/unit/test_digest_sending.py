"""Sending scheduled digests: what is due, rendering outside any transaction, one claim."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.digest import DigestPeriod, DigestSchedule, digests_due, send_digest
from domain.webhooks import EventType
from tests.unit.fakes import FakeStore, FakeUnitOfWorkFactory

# Tuesday 2026-11-24 09:00 UTC: the week of 16..22 November is due (Mondays at 08:00).
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LAST_WEEK = date(2026, 11, 16)
WEEKLY = DigestSchedule(enabled=True, weekday=1, hour=8, dimensions=("team",))


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(FakeStore())


def _schedule(uow: FakeUnitOfWorkFactory, schedule: DigestSchedule) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    uow.store.digest_schedules[tenant_id] = (schedule, "UTC")
    return tenant_id


async def test_due_digests_leave_out_disabled_and_sent_ones(uow) -> None:
    due_id = _schedule(uow, WEEKLY)
    sent_id = _schedule(uow, WEEKLY)
    _schedule(uow, DigestSchedule(enabled=False))
    uow.store.digest_sends.add((sent_id, DigestPeriod.WEEK, LAST_WEEK))
    due = await digests_due(NOW, uow=uow)
    assert [(d.tenant_id, d.start) for d in due] == [(due_id, LAST_WEEK)]
    assert uow.opened == [None]  # one unit of work across tenants


async def test_a_digest_is_rendered_outside_any_transaction_and_claimed_once(uow) -> None:
    tenant_id = _schedule(uow, WEEKLY)
    (due,) = await digests_due(NOW, uow=uow)
    rendered: list[tuple[Any, ...]] = []

    async def render(*args: Any) -> dict[str, Any]:
        assert all(u.ended or not u.entered for u in uow.units), "a transaction is open"
        rendered.append(args)
        return {"period": "week"}

    assert await send_digest(due, NOW, uow=uow, render=render)
    assert not await send_digest(due, NOW, uow=uow, render=render)  # another process's turn
    assert rendered[0] == (tenant_id, "UTC", DigestPeriod.WEEK, LAST_WEEK, ["team"], NOW)
    (event,) = uow.store.events
    assert event.type == EventType.DIGEST_READY and event.data == {"period": "week"}
    assert uow.opened[-2:] == [tenant_id, tenant_id]


async def test_a_digest_that_fails_to_render_claims_nothing(uow) -> None:
    _schedule(uow, WEEKLY)
    (due,) = await digests_due(NOW, uow=uow)

    async def render(*args: Any) -> dict[str, Any]:
        raise ConnectionError("database away")

    with pytest.raises(ConnectionError):
        await send_digest(due, NOW, uow=uow, render=render)
    assert uow.store.digest_sends == set() and uow.store.events == []
    assert await digests_due(NOW, uow=uow) == [due]  # the next check sends it
