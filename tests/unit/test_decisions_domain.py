"""Targets and impact decisions, pure."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from domain.decisions import Decision, _decide, judge, new_target, target_for
from domain.model import ResultQuery, SegmentFilter
from domain.nps import summarize
from domain.stats import compare

T = uuid.uuid4()
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _q(survey: uuid.UUID | None = None, *segs: SegmentFilter) -> ResultQuery:
    return ResultQuery(
        tenant_id=T, survey_id=survey, start=date(2026, 1, 1), end=date(2026, 1, 31), segments=segs
    )


def test_target_for_matches_the_exact_scope() -> None:
    s = uuid.uuid4()
    team = SegmentFilter(dimension="team", value="a")
    overall = new_target(tenant_id=T, survey_id=None, segment=None, nps=30, now=NOW)
    survey_team = new_target(tenant_id=T, survey_id=s, segment=team, nps=50, now=NOW)
    targets = [overall, survey_team]
    assert target_for(targets, _q()) == overall
    assert target_for(targets, _q(s, team)) == survey_team
    assert target_for(targets, _q(s)) is None
    assert target_for(targets, _q(None, team, SegmentFilter(dimension="r", value="x"))) is None


def test_target_met_is_judged_on_the_interval() -> None:
    t = new_target(tenant_id=T, survey_id=None, segment=None, nps=20, now=NOW)
    strong = summarize((0,) * 9 + (0, 200))  # 200 promoters: interval far above 20
    weak = summarize((200,) + (0,) * 10)  # 200 detractors: far below
    small = summarize((1,) + (0,) * 8 + (0, 2))  # 3 answers: interval spans 20
    assert judge(t, strong).target_met == "yes"
    assert judge(t, weak).target_met == "no"
    assert judge(t, small).target_met == "uncertain"
    assert judge(t, strong).gap == 80.0


def test_decision_follows_the_test() -> None:
    good, bad = (0,) * 10 + (60,), (60,) + (0,) * 10
    assert _decide(compare(bad, good)) is Decision.IMPROVED
    assert _decide(compare(good, bad)) is Decision.WORSENED
    assert _decide(compare(good, good)) is Decision.NO_DETECTABLE_CHANGE
    assert _decide(compare((0,) * 11, good)) is Decision.INSUFFICIENT_DATA
