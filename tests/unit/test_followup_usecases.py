"""Follow-up use-cases on fakes: one unit of work each, the case locked before deciding."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from domain import followups
from domain.errors import Conflict, InvalidInput
from domain.followups import Case, CaseFilter, CaseUpdate, Status
from domain.nps import Category
from tests.unit.fakes import FakeStore, FakeUnitOfWorkFactory

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
TENANT = uuid4()


def _case(store: FakeStore, *, status: Status = Status.OPEN, created_at: datetime = T0) -> Case:
    case = Case(
        id=uuid4(),
        response_id=uuid4(),
        survey_id=uuid4(),
        customer_id="c-1",
        score=3,
        comment=None,
        segments={},
        status=status,
        owner=None,
        due_at=created_at + timedelta(hours=48),
        first_contact_at=None,
        closed_at=None,
        resolution=None,
        notes=[],
        created_at=created_at,
        updated_at=created_at,
    )
    store.cases[(TENANT, case.id)] = case
    return case


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def uow(store: FakeStore) -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(store)


async def test_update_locks_the_case_then_writes_the_decided_change(
    store: FakeStore, uow: FakeUnitOfWorkFactory
) -> None:
    case = _case(store)
    now = T0 + timedelta(hours=2)
    got = await followups.update_case(
        uow,
        tenant_id=TENANT,
        case_id=case.id,
        update=CaseUpdate(status=Status.IN_PROGRESS),
        now=now,
    )
    assert got.status is Status.IN_PROGRESS and got.first_contact_at == now
    [unit] = uow.units
    assert uow.opened == [TENANT] and unit.committed
    assert unit.followups.locked == [case.id]
    assert store.case_events == [(TENANT, case.id)]


async def test_an_illegal_move_writes_nothing_and_rolls_back(
    store: FakeStore, uow: FakeUnitOfWorkFactory
) -> None:
    case = _case(store, status=Status.IN_PROGRESS)
    with pytest.raises(Conflict):
        await followups.update_case(
            uow, tenant_id=TENANT, case_id=case.id, update=CaseUpdate(status=Status.OPEN), now=T0
        )
    [unit] = uow.units
    assert not unit.committed
    assert store.cases[(TENANT, case.id)] == case and store.case_events == []


async def test_invalid_settings_are_refused_before_any_transaction(
    uow: FakeUnitOfWorkFactory,
) -> None:
    with pytest.raises(InvalidInput):
        await followups.update_followup_settings(
            uow,
            tenant_id=TENANT,
            categories=[Category.DETRACTOR, Category.DETRACTOR],
            sla_hours=None,
            now=T0,
        )
    assert uow.units == []


async def test_settings_left_out_keep_their_value(uow: FakeUnitOfWorkFactory) -> None:
    await followups.update_followup_settings(
        uow, tenant_id=TENANT, categories=None, sla_hours=12, now=T0, retention_months=6
    )
    got = await followups.update_followup_settings(
        uow, tenant_id=TENANT, categories=[Category.PASSIVE], sla_hours=None, now=T0
    )
    assert got.followup_sla_hours == 12 and got.retention_months == 6
    assert got.followup_categories == (Category.PASSIVE,)
    assert await followups.followup_settings(uow, tenant_id=TENANT) == got
    assert set(uow.opened) == {TENANT}


async def test_stats_count_cases_by_the_local_days_of_the_tenants_zone(
    store: FakeStore, uow: FakeUnitOfWorkFactory
) -> None:
    # 11:30 UTC on 1 November is already 2 November in Auckland (UTC+13).
    _case(store, created_at=datetime(2026, 11, 1, 11, 30, tzinfo=UTC))
    flt = CaseFilter(tenant_id=TENANT)
    day = date(2026, 11, 2)
    got = await followups.followup_stats(
        uow, flt, start=day, end=day, timezone="Pacific/Auckland", now=T0
    )
    before = await followups.followup_stats(
        uow,
        flt,
        start=day - timedelta(days=1),
        end=day - timedelta(days=1),
        timezone="Pacific/Auckland",
        now=T0,
    )
    assert (got.opened, before.opened) == (1, 0)
