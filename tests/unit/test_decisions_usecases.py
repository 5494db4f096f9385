"""Use-cases of changes and targets, each in one unit of work of the caller's tenant."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from domain import decisions
from domain.errors import NotFound
from domain.model import ResultQuery
from domain.nps import summarize
from domain.results import StoredHistograms
from tests.unit.fakes import FakeStore, FakeTargetCache, FakeUnitOfWorkFactory

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TENANT = uuid.uuid4()


@pytest.fixture
def uow() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory(FakeStore())


def _change(survey_id: uuid.UUID | None = None) -> decisions.ChangeRecord:
    return decisions.new_change(
        tenant_id=TENANT,
        title="New onboarding",
        description=None,
        effective_on=date(2026, 11, 1),
        survey_id=survey_id,
        segment=None,
        now=NOW,
    )


def _target(nps: float) -> decisions.Target:
    return decisions.new_target(tenant_id=TENANT, survey_id=None, segment=None, nps=nps, now=NOW)


async def test_a_change_for_an_unknown_survey_is_not_recorded(uow) -> None:
    with pytest.raises(NotFound):
        await decisions.record_change(_change(survey_id=uuid.uuid4()), uow=uow)
    assert uow.store.changes == {}
    assert uow.opened == [TENANT] and not uow.units[0].committed


async def test_an_edit_to_an_unknown_survey_leaves_the_change_as_it_was(uow) -> None:
    change = await decisions.record_change(_change(), uow=uow)
    with pytest.raises(NotFound):
        await decisions.update_change(
            tenant_id=TENANT,
            change_id=change.id,
            edit=decisions.ChangeEdit(title="Renamed", survey_id=uuid.uuid4()),
            now=NOW,
            uow=uow,
        )
    assert await decisions.get_change(tenant_id=TENANT, change_id=change.id, uow=uow) == change


async def test_targets_are_read_once_then_served_from_the_cache(uow) -> None:
    cache = FakeTargetCache()
    await decisions.set_target(_target(30.0), uow=uow, cache=cache)
    opened = len(uow.opened)
    first = await decisions.tenant_targets(TENANT, uow=uow, cache=cache)
    again = await decisions.tenant_targets(TENANT, uow=uow, cache=cache)
    assert [t.nps for t in first] == [30.0] and again is first
    assert uow.opened[opened:] == [TENANT]  # one unit of work for both reads


async def test_setting_a_target_drops_the_cached_targets(uow) -> None:
    cache = FakeTargetCache()
    await decisions.set_target(_target(30.0), uow=uow, cache=cache)
    await decisions.tenant_targets(TENANT, uow=uow, cache=cache)
    await decisions.set_target(_target(45.0), uow=uow, cache=cache)
    assert [t.nps for t in await decisions.tenant_targets(TENANT, uow=uow, cache=cache)] == [45.0]


async def test_deleting_an_unknown_target_still_drops_the_cached_targets(uow) -> None:
    cache = FakeTargetCache()
    cache.put(TENANT, [_target(30.0)])
    with pytest.raises(NotFound):
        await decisions.delete_target(
            tenant_id=TENANT, target_id=uuid.uuid4(), uow=uow, cache=cache
        )
    assert cache.get(TENANT) is None


async def test_the_verdict_of_a_result_comes_from_the_cached_targets(uow) -> None:
    cache = FakeTargetCache()
    cache.put(TENANT, [_target(-50.0)])
    query = ResultQuery(tenant_id=TENANT, survey_id=None, start=NOW.date(), end=NOW.date())
    verdict = await decisions.results_target(
        query, summarize((0,) * 10 + (40,)), uow=uow, cache=cache
    )
    assert verdict is not None and verdict.target_met == "yes"
    assert uow.opened == []  # served from the cache: no transaction


async def test_stored_histograms_read_in_a_unit_of_work_of_the_query_tenant(uow) -> None:
    query = ResultQuery(tenant_id=TENANT, survey_id=None, start=NOW.date(), end=NOW.date())
    source = StoredHistograms(uow)
    assert await source.histograms(query, [(query.start, query.end)]) == [(0,) * 11]
    assert await source.breakdown(query, "team") == {}
    assert uow.opened == [TENANT, TENANT]
