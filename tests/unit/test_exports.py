"""The answer export streams in one unit of work of the tenant, ended when the reader stops."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from domain import responses
from domain.exports import export_responses
from domain.model import Principal, Scope
from domain.ports import ResponseFilter
from domain.responses import NewResponse
from tests.unit.fakes import FakeStore, FakeUnitOfWorkFactory

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _store_answers(store: FakeStore, tenant_id: uuid.UUID, n: int) -> None:
    principal = Principal(
        tenant_id=tenant_id, key_id=tenant_id, scopes=frozenset(Scope), timezone="UTC"
    )
    for i in range(n):
        cmd = NewResponse(survey_id=uuid.uuid4(), score=i % 11, answered_at=NOW - timedelta(i))
        store.responses.append(responses.build_response(cmd, principal=principal, now=NOW))


async def test_the_export_reads_the_tenant_answers_oldest_first_in_one_unit_of_work() -> None:
    store, tenant, other = FakeStore(), uuid.uuid4(), uuid.uuid4()
    _store_answers(store, tenant, 3)
    _store_answers(store, other, 2)
    uow = FakeUnitOfWorkFactory(store)
    got = [a async for a in export_responses(ResponseFilter(tenant_id=tenant), uow=uow)]
    assert [a.tenant_id for a in got] == [tenant] * 3
    assert [a.answered_at for a in got] == sorted(a.answered_at for a in got)
    assert uow.opened == [tenant] and uow.units[0].ended


async def test_an_export_left_early_ends_its_unit_of_work() -> None:
    store, tenant = FakeStore(), uuid.uuid4()
    _store_answers(store, tenant, 3)
    uow = FakeUnitOfWorkFactory(store)
    stream = export_responses(ResponseFilter(tenant_id=tenant), uow=uow)
    await anext(stream)
    assert not uow.units[0].ended  # held while the export streams
    await stream.aclose()  # the client went away
    assert uow.units[0].ended and not uow.units[0].committed
