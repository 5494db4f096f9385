"""NPS math: definitions, the adjusted-Wald interval, histograms; properties with hypothesis."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.nps import (
    EMPTY_HISTOGRAM,
    Category,
    add_histograms,
    adjusted_wald,
    classify,
    histogram_of,
    summarize,
)

histograms = st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=11, max_size=11).map(
    tuple
)


@pytest.mark.parametrize(
    ("score", "category"),
    [
        (0, Category.DETRACTOR),
        (6, Category.DETRACTOR),
        (7, Category.PASSIVE),
        (8, Category.PASSIVE),
        (9, Category.PROMOTER),
        (10, Category.PROMOTER),
    ],
)
def test_classify_boundaries(score: int, category: Category) -> None:
    assert classify(score) is category


@pytest.mark.parametrize("score", [-1, 11])
def test_scores_outside_0_to_10_are_refused(score: int) -> None:
    with pytest.raises(ValueError):
        classify(score)


def test_summary_of_a_hand_worked_example() -> None:
    # 60 promoters, 20 passives, 20 detractors: NPS = 60% - 20% = 40.
    h = (0, 0, 0, 0, 0, 20, 0, 0, 20, 30, 30)
    s = summarize(h)
    assert (s.total, s.promoters, s.passives, s.detractors) == (100, 60, 20, 20)
    assert s.nps == 40.0
    assert (s.promoters_pct, s.passives_pct, s.detractors_pct) == (60.0, 20.0, 20.0)
    assert s.mean_score == pytest.approx((5 * 20 + 8 * 20 + 9 * 30 + 10 * 30) / 100)
    # Independent computation of the adjusted-Wald interval (Rocks 2016).
    n = 103
    p, d = 60.75 / n, 20.75 / n
    se = math.sqrt((p + d - (p - d) ** 2) / n)
    assert s.ci95 is not None
    assert s.ci95.low == pytest.approx(100 * (p - d) - 196 * se)
    assert s.ci95.high == pytest.approx(100 * (p - d) + 196 * se)
    assert s.margin_of_error == pytest.approx(196 * se)
    # With these numbers: centre 38.835, half-width 15.456 (computed by hand).
    assert 100 * (p - d) == pytest.approx(38.835, abs=1e-3)
    assert s.margin_of_error == pytest.approx(15.456, abs=0.001)


def test_empty_histogram_has_no_figures() -> None:
    s = summarize(EMPTY_HISTOGRAM)
    assert s.total == 0
    assert s.nps is s.mean_score is s.ci95 is s.margin_of_error is s.promoters_pct is None


def test_interval_is_clipped_to_the_scale() -> None:
    _, low, high = adjusted_wald(promoters=1, detractors=0, total=1)
    assert -100 <= low < high <= 100
    _, low, high = adjusted_wald(promoters=0, detractors=0, total=0)
    assert low == pytest.approx(-high)


@given(histograms)
def test_nps_lies_within_minus_100_and_100_and_inside_its_interval(h: tuple[int, ...]) -> None:
    s = summarize(h)
    if s.total == 0:
        assert s.nps is None
        return
    assert s.nps is not None and s.ci95 is not None and s.margin_of_error is not None
    assert -100 <= s.nps <= 100
    assert -100 <= s.ci95.low <= s.ci95.high <= 100
    assert s.ci95.low - 1e-9 <= s.nps <= s.ci95.high + 1e-9
    assert s.promoters + s.passives + s.detractors == s.total
    pcts = s.promoters_pct + s.passives_pct + s.detractors_pct  # type: ignore[operator]
    assert pcts == pytest.approx(100.0)
    assert s.nps == pytest.approx(s.promoters_pct - s.detractors_pct)  # type: ignore[operator]
    assert 0 <= s.mean_score <= 10  # type: ignore[operator]


@given(histograms, histograms, histograms)
def test_adding_histograms_is_associative_and_commutative(a, b, c) -> None:  # type: ignore[no-untyped-def]
    assert add_histograms(a, b) == add_histograms(b, a)
    assert add_histograms(add_histograms(a, b), c) == add_histograms(a, add_histograms(b, c))
    assert sum(add_histograms(a, b, c)) == sum(a) + sum(b) + sum(c)
    assert add_histograms(a, EMPTY_HISTOGRAM) == a


@given(st.lists(st.integers(min_value=0, max_value=10), max_size=200))
def test_histogram_of_scores_counts_each_score(scores: list[int]) -> None:
    h = histogram_of(scores)
    assert sum(h) == len(scores)
    assert all(h[i] == scores.count(i) for i in range(11))


@given(histograms)
def test_more_answers_in_the_same_shares_narrow_the_interval(h: tuple[int, ...]) -> None:
    small, large = summarize(h), summarize(tuple(10 * c for c in h))
    if small.total == 0:
        return
    assert large.margin_of_error <= small.margin_of_error + 1e-9  # type: ignore[operator]
