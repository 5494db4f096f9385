"""The written rules of results: trend changes, annotations, orders and the target gap."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from domain.decisions import ChangeRecord, judge, new_target, overlaps
from domain.model import ResultQuery, SegmentFilter
from domain.nps import EMPTY_HISTOGRAM, Histogram, summarize
from domain.results import Group, Point, _by_difference, trend_changes, vs_rest
from domain.stats import compare

T = uuid.uuid4()
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SURVEY, OTHER = uuid.uuid4(), uuid.uuid4()


def hist(promoters: int, passives: int, detractors: int) -> Histogram:
    return (detractors, 0, 0, 0, 0, 0, 0, passives, 0, 0, promoters)


def _point(day: int, h: Histogram) -> Point:
    return Point(start=date(2026, 3, day), end=date(2026, 3, day), summary=summarize(h))


def test_a_change_after_empty_points_compares_with_the_last_point_that_had_answers() -> None:
    points = [
        _point(1, hist(0, 0, 30)),
        _point(2, EMPTY_HISTOGRAM),
        _point(3, EMPTY_HISTOGRAM),
        _point(4, hist(30, 0, 0)),
        _point(5, hist(20, 0, 10)),
    ]
    changes = trend_changes(points)
    assert changes[0] is None and changes[1] is None and changes[2] is None
    assert changes[3] is not None and changes[3].compared_with == date(2026, 3, 1)
    assert changes[3].difference == pytest.approx(200.0) and changes[3].significant is True
    expected = compare(hist(0, 0, 30), hist(30, 0, 0))
    assert changes[3].p_value == expected.p_value
    assert changes[4] is not None and changes[4].compared_with == date(2026, 3, 4)


def _segment(text: str) -> SegmentFilter:
    dimension, value = text.split(":")
    return SegmentFilter(dimension=dimension, value=value)


def _change(survey: uuid.UUID | None, segment: str | None) -> ChangeRecord:
    seg = _segment(segment) if segment else None
    return ChangeRecord(
        id=uuid.uuid4(),
        tenant_id=T,
        title="t",
        description=None,
        effective_on=date(2026, 3, 1),
        survey_id=survey,
        segment=seg,
        created_at=NOW,
        updated_at=NOW,
    )


def _q(survey: uuid.UUID | None, *segments: str) -> ResultQuery:
    return ResultQuery(
        tenant_id=T,
        survey_id=survey,
        start=date(2026, 3, 1),
        end=date(2026, 3, 31),
        segments=tuple(_segment(s) for s in segments),
    )


@pytest.mark.parametrize(
    ("change", "query", "shown"),
    [
        ((None, None), (None,), True),
        ((SURVEY, None), (None,), True),  # a trend of all surveys shows every survey's change
        ((SURVEY, None), (SURVEY,), True),
        ((None, None), (SURVEY,), True),  # a change of all surveys touches every survey
        ((OTHER, None), (SURVEY,), False),
        ((None, "team:support"), (None,), True),  # part of a company-wide trend
        ((None, "team:support"), (None, "team:support"), True),
        ((None, "team:support"), (None, "region:emea"), True),  # support answers in emea
        ((None, "team:support"), (None, "team:sales"), False),
        ((None, "team:support"), (None, "team:sales", "region:emea"), False),
        ((OTHER, "team:support"), (SURVEY, "team:support"), False),
    ],
)
def test_annotations_are_the_changes_whose_scope_shares_answers_with_the_trend(
    change: tuple[uuid.UUID | None, str | None], query: tuple, shown: bool
) -> None:
    assert overlaps(_change(*change), _q(*query)) is shown


def test_gap_is_nps_minus_target_positive_above() -> None:
    target = new_target(tenant_id=T, survey_id=None, segment=None, nps=30, now=NOW)
    above = summarize(hist(60, 20, 20))  # NPS 40
    below = summarize(hist(20, 60, 20))  # NPS 0
    assert judge(target, above).gap == pytest.approx(10.0)
    assert judge(target, below).gap == pytest.approx(-30.0)


def test_difference_order_puts_values_without_a_rest_last() -> None:
    keys = [_by_difference(None, "all"), _by_difference(5.0, "b"), _by_difference(-3.0, "a")]
    assert [k[2] for k in sorted(keys)] == ["a", "b", "all"]


def test_the_value_holding_every_answer_has_no_vs_rest_figures() -> None:
    h = hist(3, 1, 1)
    (only,) = vs_rest([Group(value="x", summary=summarize(h))], h)
    assert only.comparison.difference is None and only.flag == "in_line"
