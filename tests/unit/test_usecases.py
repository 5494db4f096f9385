"""Use-cases with in-memory fakes of their ports."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from domain import responses, results, surveys, tenants
from domain.errors import Conflict, InvalidInput, NotFound
from domain.keys import parse_key
from domain.model import ResultQuery, Scope, SegmentFilter, SurveyKind
from domain.outcomes import BatchRecorded, Outcome, error_of
from domain.periods import TrendInterval
from domain.responses import NewResponse
from tests.unit.fakes import (
    FakeHistogramSource,
    FakeIngestor,
    FakeStore,
    FakeUnitOfWork,
    principal_for,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class NoCounters:
    async def init_tenant(self, tenant_id: object) -> None:
        raise ConnectionError("redis down")


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def uow(store: FakeStore):  # type: ignore[no-untyped-def]
    return lambda tenant_id=None: FakeUnitOfWork(store)


async def _tenant_and_survey(uow, tz: str = "UTC"):  # type: ignore[no-untyped-def]
    tenant = await tenants.create_tenant(
        name="Acme", timezone=tz, now=NOW, uow=uow, counters=NoCounters()
    )
    survey = await surveys.create_survey(
        tenant_id=tenant.id, name="S", kind=SurveyKind.RELATIONAL, question=None, now=NOW, uow=uow
    )
    return tenant, survey


async def test_tenant_creation_survives_unavailable_counters(uow) -> None:
    tenant, _ = await _tenant_and_survey(uow)
    assert tenant.timezone == "UTC"


async def test_unknown_time_zone_is_invalid_input_on_timezone(uow) -> None:
    with pytest.raises(InvalidInput) as err:
        await tenants.create_tenant(
            name="A", timezone="Nowhere/City", now=NOW, uow=uow, counters=NoCounters()
        )
    assert err.value.errors[0].field == "timezone"


async def test_created_key_authenticates_until_revoked(uow) -> None:
    tenant, _ = await _tenant_and_survey(uow)
    key, text = await tenants.create_key(
        tenant_id=tenant.id,
        spec=tenants.KeySpec(name="k", scopes=(Scope.MANAGE, Scope.MANAGE)),
        now=NOW,
        uow=uow,
    )
    assert key.scopes == (Scope.MANAGE,)
    principal = await tenants.authenticate(text, uow=uow)
    assert principal is not None and principal.tenant_id == tenant.id
    wrong = text[:-1] + ("A" if text[-1] != "A" else "B")
    assert parse_key(wrong) is not None and await tenants.authenticate(wrong, uow=uow) is None
    assert await tenants.authenticate("nps_" + text, uow=uow) is None  # malformed
    await tenants.revoke_key(tenant_id=tenant.id, key_id=key.id, uow=uow)
    assert await tenants.authenticate(text, uow=uow) is None


async def test_key_for_unknown_tenant_is_not_found(uow) -> None:
    import uuid

    with pytest.raises(NotFound):
        await tenants.create_key(
            tenant_id=uuid.uuid4(),
            spec=tenants.KeySpec(name="k", scopes=(Scope.MANAGE,)),
            now=NOW,
            uow=uow,
        )


async def test_update_changes_only_given_fields_and_archive_is_idempotent(uow) -> None:
    tenant, survey = await _tenant_and_survey(uow)
    later = NOW + timedelta(hours=1)
    updated = await surveys.update_survey(
        tenant_id=tenant.id,
        survey_id=survey.id,
        changes=surveys.SurveyChanges(question="Would you recommend us?"),
        now=later,
        uow=uow,
    )
    assert updated.name == "S" and updated.question == "Would you recommend us?"
    assert updated.updated_at == later
    first = await surveys.archive_survey(
        tenant_id=tenant.id, survey_id=survey.id, now=later, uow=uow
    )
    again = await surveys.archive_survey(
        tenant_id=tenant.id, survey_id=survey.id, now=later + timedelta(days=1), uow=uow
    )
    assert first.archived_at == again.archived_at == later


async def test_answer_gets_the_local_day_of_the_tenant(uow) -> None:
    tenant, survey = await _tenant_and_survey(uow, tz="America/New_York")
    answer = responses.build_response(
        NewResponse(
            survey_id=survey.id, score=9, answered_at=datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
        ),
        principal=principal_for(tenant),
        now=NOW,
    )
    assert answer.local_date == date(2026, 11, 21)
    assert answer.received_at == NOW


async def test_answer_more_than_five_minutes_ahead_is_refused(uow) -> None:
    tenant, survey = await _tenant_and_survey(uow)
    cmd = NewResponse(survey_id=survey.id, score=9, answered_at=NOW + timedelta(minutes=6))
    with pytest.raises(InvalidInput) as err:
        responses.build_response(cmd, principal=principal_for(tenant), now=NOW)
    assert err.value.errors[0].field == "answered_at"


async def test_record_reports_unknown_and_archived_surveys(store, uow) -> None:
    import uuid

    tenant, survey = await _tenant_and_survey(uow)
    principal = principal_for(tenant)
    ingestor = FakeIngestor(store)
    ok = responses.build_response(
        NewResponse(survey_id=survey.id, score=10), principal=principal, now=NOW
    )
    lost = responses.build_response(
        NewResponse(survey_id=uuid.uuid4(), score=10), principal=principal, now=NOW
    )
    got = await responses.record_batch(
        [ok, lost], rejected={}, principal=principal, ingestor=ingestor
    )
    assert isinstance(got.outcome, BatchRecorded)
    items = got.outcome.items
    assert [r.outcome for r in items] == [Outcome.CREATED, Outcome.SURVEY_NOT_FOUND]
    assert isinstance(error_of(items[1]), NotFound)
    await surveys.archive_survey(tenant_id=tenant.id, survey_id=survey.id, now=NOW, uow=uow)
    late = responses.build_response(
        NewResponse(survey_id=survey.id, score=1), principal=principal, now=NOW
    )
    with pytest.raises(Conflict):
        await responses.record_response(late, principal=principal, ingestor=ingestor)


async def test_exclusion_flag_is_set_and_cleared_and_another_tenant_sees_no_answer(
    store, uow
) -> None:
    tenant, survey = await _tenant_and_survey(uow)
    principal = principal_for(tenant)
    ingestor = FakeIngestor(store)
    answer = responses.build_response(
        NewResponse(survey_id=survey.id, score=0), principal=principal, now=NOW
    )
    await responses.record_response(answer, principal=principal, ingestor=ingestor)
    out = await responses.set_response_excluded(
        tenant_id=tenant.id, response_id=answer.id, excluded=True, reason="test", ingestor=ingestor
    )
    assert (out.excluded, out.exclusion_reason) == (True, "test")
    back = await responses.set_response_excluded(
        tenant_id=tenant.id, response_id=answer.id, excluded=False, reason=None, ingestor=ingestor
    )
    assert (back.excluded, back.exclusion_reason) == (False, None)
    with pytest.raises(NotFound):
        await responses.set_response_excluded(
            tenant_id=uuid.uuid4(),
            response_id=answer.id,
            excluded=True,
            reason=None,
            ingestor=ingestor,
        )


async def _answers(store, uow, rows):  # type: ignore[no-untyped-def]
    tenant, survey = await _tenant_and_survey(uow)
    principal = principal_for(tenant)
    built = [
        responses.build_response(
            NewResponse(
                survey_id=survey.id,
                score=s,
                segments=seg,
                answered_at=datetime.combine(d, datetime.min.time(), UTC),
            ),
            principal=principal,
            now=NOW,
        )
        for s, d, seg in rows
    ]
    await responses.record_batch(
        built, rejected={}, principal=principal, ingestor=FakeIngestor(store)
    )
    return tenant


async def test_results_fall_back_to_the_database_when_counters_are_not_ready(store, uow) -> None:
    tenant = await _answers(store, uow, [(10, date(2026, 11, 1), {}), (0, date(2026, 11, 2), {})])
    counters = FakeHistogramSource(store, ready=False)
    stored_histograms = FakeHistogramSource(store)
    q = ResultQuery(
        tenant_id=tenant.id, survey_id=None, start=date(2026, 11, 1), end=date(2026, 11, 30)
    )
    summary = await results.nps_for_period(
        q, counters=counters, stored_histograms=stored_histograms
    )
    assert (summary.total, summary.nps) == (2, 0.0)
    assert counters.calls == 1 and stored_histograms.calls == 1


async def test_two_segment_filters_skip_the_counters(store, uow) -> None:
    tenant = await _answers(
        store,
        uow,
        [
            (10, date(2026, 11, 1), {"team": "a", "region": "eu"}),
            (0, date(2026, 11, 1), {"team": "a", "region": "us"}),
        ],
    )
    counters, stored_histograms = FakeHistogramSource(store), FakeHistogramSource(store)
    q = ResultQuery(
        tenant_id=tenant.id,
        survey_id=None,
        start=date(2026, 11, 1),
        end=date(2026, 11, 1),
        segments=(
            SegmentFilter(dimension="team", value="a"),
            SegmentFilter(dimension="region", value="eu"),
        ),
    )
    summary = await results.nps_for_period(
        q, counters=counters, stored_histograms=stored_histograms
    )
    assert summary.total == 1 and summary.promoters == 1
    assert counters.calls == 0


async def test_breakdown_sorts_by_size_and_drops_empty_groups(store, uow) -> None:
    tenant = await _answers(
        store,
        uow,
        [
            (10, date(2026, 11, 1), {"team": "a"}),
            (3, date(2026, 11, 1), {"team": "b"}),
            (4, date(2026, 11, 1), {"team": "b"}),
        ],
    )
    src = FakeHistogramSource(store)
    q = ResultQuery(
        tenant_id=tenant.id, survey_id=None, start=date(2026, 11, 1), end=date(2026, 11, 1)
    )
    groups = await results.nps_breakdown(q, "team", counters=src, stored_histograms=src)
    assert [(g.value, g.summary.total) for g in groups] == [("b", 2), ("a", 1)]


async def test_trend_points_cover_the_period(store, uow) -> None:
    tenant = await _answers(store, uow, [(9, date(2026, 11, 3), {})])
    src = FakeHistogramSource(store)
    q = ResultQuery(
        tenant_id=tenant.id, survey_id=None, start=date(2026, 11, 1), end=date(2026, 11, 14)
    )
    points = await results.nps_trend(q, TrendInterval.WEEK, counters=src, stored_histograms=src)
    assert [(p.start.day, p.end.day, p.summary.total) for p in points] == [
        (1, 1, 0),
        (2, 8, 1),
        (9, 14, 0),
    ]


def test_response_ids_are_uuid7_in_time_order_and_unique() -> None:
    import uuid
    from datetime import timedelta

    from domain.responses import new_response_id

    first = new_response_id(NOW)
    assert first.version == 7 and first.variant == uuid.RFC_4122
    assert first.int >> 80 == int(NOW.timestamp() * 1000)  # the instant's milliseconds lead
    later = [new_response_id(NOW + timedelta(milliseconds=ms)) for ms in range(1, 200)]
    assert [first, *later] == sorted([first, *later])
    assert len({new_response_id(NOW) for _ in range(100_000)}) == 100_000
