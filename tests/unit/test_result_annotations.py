"""Breakdowns judged against each value's target; trends with verdicts and annotations."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import msgspec

from domain import decisions, responses
from domain.model import Principal, ResultQuery, Scope, SegmentFilter
from domain.periods import TrendInterval
from domain.responses import NewResponse
from domain.result_annotations import breakdown_against_targets, trend_with_changes
from domain.results import BreakdownSort
from tests.unit.fakes import FakeHistogramSource, FakeStore, FakeTargetCache, FakeUnitOfWorkFactory

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TENANT = uuid.uuid4()
SURVEY = uuid.uuid4()
QUERY = ResultQuery(tenant_id=TENANT, survey_id=None, start=date(2026, 11, 20), end=NOW.date())


def _answers(store: FakeStore, team: str, scores: list[int]) -> None:
    principal = Principal(tenant_id=TENANT, key_id=TENANT, scopes=frozenset(Scope), timezone="UTC")
    for score in scores:
        cmd = NewResponse(survey_id=SURVEY, score=score, segments={"team": team}, answered_at=NOW)
        store.responses.append(responses.build_response(cmd, principal=principal, now=NOW))


def _target(team: str | None, nps: float) -> decisions.Target:
    segment = SegmentFilter(dimension="team", value=team) if team else None
    return decisions.new_target(tenant_id=TENANT, survey_id=None, segment=segment, nps=nps, now=NOW)


async def test_gap_order_puts_the_furthest_below_target_first_and_untargeted_last() -> None:
    store = FakeStore()
    _answers(store, "sales", [10] * 5)  # NPS 100
    _answers(store, "support", [0] * 5)  # NPS -100
    _answers(store, "ops", [8] * 5)  # no target
    uow, cache = FakeUnitOfWorkFactory(store), FakeTargetCache()
    cache.put(TENANT, [_target("sales", 50.0), _target("support", 0.0)])
    source = FakeHistogramSource(store)
    judged = await breakdown_against_targets(
        QUERY,
        "team",
        BreakdownSort.GAP,
        counters=source,
        stored_histograms=source,
        uow=uow,
        cache=cache,
    )
    assert [(j.group.value, j.verdict.gap if j.verdict else None) for j in judged] == [
        ("support", -100.0),
        ("sales", 50.0),
        ("ops", None),
    ]
    assert uow.opened == []  # targets from the cache, histograms from the counters


def _change(team: str | None) -> decisions.ChangeRecord:
    return decisions.new_change(
        tenant_id=TENANT,
        title=f"change for {team or 'everyone'}",
        description=None,
        effective_on=date(2026, 11, 21),
        survey_id=None,
        segment=SegmentFilter(dimension="team", value=team) if team else None,
        now=NOW,
    )


async def test_a_trend_is_annotated_with_the_changes_that_share_its_answers() -> None:
    store = FakeStore()
    _answers(store, "sales", [10, 0])
    uow, cache = FakeUnitOfWorkFactory(store), FakeTargetCache()
    cache.put(TENANT, [_target("sales", 0.0)])
    everyone = await decisions.record_change(_change(None), uow=uow)
    await decisions.record_change(_change("support"), uow=uow)
    sales = msgspec.structs.replace(
        QUERY, segments=(SegmentFilter(dimension="team", value="sales"),)
    )
    source = FakeHistogramSource(store)
    trend = await trend_with_changes(
        sales, TrendInterval.DAY, counters=source, stored_histograms=source, uow=uow, cache=cache
    )
    assert [p.start for p, _, _ in trend.points] == [date(2026, 11, d) for d in (20, 21, 22)]
    assert [v.target_met if v else None for _, _, v in trend.points] == ["uncertain"] * 3
    assert [c.id for c in trend.annotations] == [everyone.id]  # not the support team's
