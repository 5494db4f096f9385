"""domain.nps: categories, histograms, summaries checked by hand and by their properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.nps import (
    EMPTY_HISTOGRAM,
    Category,
    Histogram,
    add_histograms,
    adjusted_wald,
    classify,
    histogram_of,
    summarize,
)

histograms = st.tuples(*(st.integers(min_value=0, max_value=1_000_000) for _ in range(11)))


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, Category.DETRACTOR),
        (6, Category.DETRACTOR),
        (7, Category.PASSIVE),
        (8, Category.PASSIVE),
        (9, Category.PROMOTER),
        (10, Category.PROMOTER),
    ],
)
def test_classify_at_the_boundaries(score: int, expected: Category) -> None:
    assert classify(score) is expected


@pytest.mark.parametrize("score", [-1, 11, 100])
def test_classify_refuses_scores_outside_0_to_10(score: int) -> None:
    with pytest.raises(ValueError):
        classify(score)


def test_category_values_are_the_wire_names() -> None:
    assert [c.value for c in Category] == ["promoter", "passive", "detractor"]


def _by_hand(promoters: int, passives: int, detractors: int) -> tuple[float, float, float]:
    """(centre, low, high) of the adjusted-Wald interval, written out independently."""
    n_adj = promoters + passives + detractors + 3
    p_adj = (promoters + 3 / 4) / n_adj
    d_adj = (detractors + 3 / 4) / n_adj
    variance = p_adj * (1 - p_adj) + d_adj * (1 - d_adj) + 2 * p_adj * d_adj
    half = 1.96 * 100 * math.sqrt(variance / n_adj)
    centre = 100 * (p_adj - d_adj)
    return centre, max(-100.0, centre - half), min(100.0, centre + half)


def test_summary_of_a_hand_worked_example() -> None:
    # 60 promoters (30 nines, 30 tens), 20 passives (eights), 20 detractors (fives).
    h = (0, 0, 0, 0, 0, 20, 0, 0, 20, 30, 30)
    s = summarize(h)
    assert (s.total, s.promoters, s.passives, s.detractors) == (100, 60, 20, 20)
    assert s.nps == 40.0
    assert (s.promoters_pct, s.passives_pct, s.detractors_pct) == (60.0, 20.0, 20.0)
    assert s.mean_score == pytest.approx((5 * 20 + 8 * 20 + 9 * 30 + 10 * 30) / 100)
    assert s.histogram == h
    centre, low, high = _by_hand(60, 20, 20)
    # By hand: p' = 60.75/103, d' = 20.75/103, centre = 4000/103 = 38.835 points.
    assert centre == pytest.approx(38.8350, abs=1e-4)
    assert s.ci95 is not None and s.margin_of_error is not None and s.standard_error is not None
    assert s.ci95.low == pytest.approx(low, rel=1e-12)
    assert s.ci95.high == pytest.approx(high, rel=1e-12)
    assert s.margin_of_error == pytest.approx((high - low) / 2, rel=1e-12)
    assert s.standard_error == pytest.approx(s.margin_of_error / 1.96, rel=1e-12)
    assert s.margin_of_error == pytest.approx(15.456, abs=1e-3)


def test_a_clipped_interval_keeps_the_unclipped_margin_of_error() -> None:
    # margin_of_error is 1.96 se, the +- before clipping (what sample-size plans for): near
    # +100 the interval is cut at 100 and is then narrower above than margin_of_error says.
    s = summarize((0,) * 10 + (5,))  # 5 promoters, nothing else: unclipped high exceeds 100
    centre, low, high = _by_hand(5, 0, 0)
    assert high == 100.0 and s.ci95 is not None and s.standard_error is not None
    assert s.ci95.high == 100.0
    assert s.ci95.low == pytest.approx(low, rel=1e-12)
    assert s.margin_of_error == pytest.approx(1.96 * s.standard_error, rel=1e-12)
    assert s.margin_of_error == pytest.approx(centre - low, rel=1e-12)
    assert s.margin_of_error > (s.ci95.high - s.ci95.low) / 2


def test_a_single_promoter_lies_outside_its_own_interval() -> None:
    # The adjusted-Wald interval is centred on the shrunk estimate 100(p'-d'): for N = 1 it is
    # 25 +- 73.5 = [-48.5, 98.5], which misses the observed NPS of 100. From N = 2 on, every
    # histogram's NPS lies inside (checked exhaustively up to N = 400 and by the property).
    s = summarize((0,) * 10 + (1,))
    assert s.nps == 100.0 and s.ci95 is not None
    assert [s.ci95.low, s.ci95.high] == pytest.approx([-48.5, 98.5])
    two = summarize((0,) * 10 + (2,))
    assert two.ci95 is not None and two.ci95.high == 100.0


def test_adjusted_wald_returns_the_scaled_standard_error_and_ends() -> None:
    se100, low, high = adjusted_wald(promoters=60, detractors=20, total=100)
    centre, hand_low, hand_high = _by_hand(60, 20, 20)
    assert [low, high] == pytest.approx([hand_low, hand_high])
    assert se100 == pytest.approx((centre - hand_low) / 1.96)
    _, low99, high99 = adjusted_wald(promoters=60, detractors=20, total=100, z=2.576)
    assert low99 < low and high99 > high
    with pytest.raises(ValueError):
        adjusted_wald(promoters=3, detractors=3, total=5)


def test_empty_histogram_has_no_figures() -> None:
    s = summarize(EMPTY_HISTOGRAM)
    assert (s.total, s.promoters, s.passives, s.detractors) == (0, 0, 0, 0)
    nones = (s.nps, s.promoters_pct, s.passives_pct, s.detractors_pct, s.mean_score)
    assert all(x is None for x in nones)
    assert s.margin_of_error is None and s.ci95 is None and s.standard_error is None
    assert s.histogram == EMPTY_HISTOGRAM


@pytest.mark.parametrize("bad", [(0,) * 10, (0,) * 12, (1,) * 10 + (-1,)])
def test_summarize_refuses_malformed_histograms(bad: Histogram) -> None:
    with pytest.raises(ValueError):
        summarize(bad)


def test_histogram_of_counts_scores_and_refuses_bad_ones() -> None:
    assert histogram_of([0, 10, 10, 7]) == (1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2)
    assert histogram_of([]) == EMPTY_HISTOGRAM
    with pytest.raises(ValueError):
        histogram_of([5, 11])


@given(histograms)
def test_summary_properties(h: Histogram) -> None:
    s = summarize(h)
    assert s.promoters + s.passives + s.detractors == s.total == sum(h)
    if s.total == 0:
        assert s.nps is None and s.ci95 is None
        return
    assert s.nps is not None and s.ci95 is not None and s.mean_score is not None
    assert -100 <= s.nps <= 100
    assert -100 <= s.ci95.low <= s.ci95.high <= 100
    if s.total >= 2:  # a single answer is the one exception: see the test below
        assert s.ci95.low <= s.nps <= s.ci95.high
    pcts = (s.promoters_pct, s.passives_pct, s.detractors_pct)
    assert sum(x for x in pcts if x is not None) == pytest.approx(100.0)
    assert s.nps == pytest.approx(s.promoters_pct - s.detractors_pct, abs=1e-9)  # type: ignore[operator]
    assert 0 <= s.mean_score <= 10
    assert s.margin_of_error is not None and s.standard_error is not None
    assert s.margin_of_error == pytest.approx(1.96 * s.standard_error)
    assert s.margin_of_error >= (s.ci95.high - s.ci95.low) / 2 - 1e-9  # ends carry rounding
    if s.ci95.low > -100 and s.ci95.high < 100:  # not clipped: the half-width itself
        assert s.margin_of_error == pytest.approx((s.ci95.high - s.ci95.low) / 2, abs=1e-9)


@given(histograms, histograms, histograms)
def test_add_histograms_is_associative_and_commutative(
    a: Histogram, b: Histogram, c: Histogram
) -> None:
    assert add_histograms(a, b) == add_histograms(b, a)
    assert add_histograms(add_histograms(a, b), c) == add_histograms(a, add_histograms(b, c))
    assert add_histograms(a, b, c) == add_histograms(add_histograms(a, b), c)
    assert sum(add_histograms(a, b, c)) == sum(a) + sum(b) + sum(c)
    assert add_histograms(a, EMPTY_HISTOGRAM) == a
    assert add_histograms() == EMPTY_HISTOGRAM


def test_add_histograms_refuses_wrong_lengths() -> None:
    with pytest.raises(ValueError):
        add_histograms(EMPTY_HISTOGRAM, (1, 2, 3))


@given(st.lists(st.integers(min_value=0, max_value=10), max_size=300))
def test_summary_of_scores_matches_direct_definitions(scores: list[int]) -> None:
    s = summarize(histogram_of(scores))
    if not scores:
        assert s.nps is None
        return
    promoters = sum(1 for x in scores if x >= 9)
    detractors = sum(1 for x in scores if x <= 6)
    assert s.nps == pytest.approx(100 * (promoters - detractors) / len(scores))
    assert s.mean_score == pytest.approx(sum(scores) / len(scores))
