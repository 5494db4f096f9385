"""domain.stats: comparisons checked against computations written here, and by their properties."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.nps import EMPTY_HISTOGRAM, Histogram
from domain.stats import (
    NO_COMPARISON,
    compare,
    holm_adjust,
    needed_per_group,
    normal_cdf,
    normal_quantile,
    sample_size_for_margin,
    two_sided_p,
)


def hist(promoters: int, passives: int, detractors: int) -> Histogram:
    return (detractors, 0, 0, 0, 0, 0, 0, passives, 0, 0, promoters)


counts = st.integers(min_value=0, max_value=5_000)
histograms = st.builds(hist, counts, counts, counts)
nonempty = histograms.filter(lambda h: sum(h) > 0)


def _adjusted_by_hand(p: int, pa: int, d: int) -> tuple[float, float]:
    """(adjusted NPS, standard error), percentage points, written out independently."""
    n = p + pa + d + 3
    pp, dd = (p + 0.75) / n, (d + 0.75) / n
    variance = pp * (1 - pp) + dd * (1 - dd) + 2 * pp * dd  # = pp + dd - (pp - dd)^2
    return 100 * (pp - dd), 100 * math.sqrt(variance / n)


def test_compare_matches_a_hand_computation() -> None:
    # Own worked example (not taken from a publication): A has 30/40/30 promoters/passives/
    # detractors (NPS 0), B has 50/30/20 (NPS 30). By hand: n' = 103; A: p' = d' = 30.75/103,
    # se = 100*sqrt(0.597087/103) = 7.6138; B: p' = 50.75/103, d' = 20.75/103, adjusted NPS
    # 29.1262, se = 100*sqrt(0.609341/103) = 7.6915; pooled se 10.8226; z = 2.6912;
    # p = erfc(z/sqrt 2) = 0.00712; interval 29.1262 +- 1.959964*10.8226 = [7.914, 50.338].
    got = compare(hist(30, 40, 30), hist(50, 30, 20))
    assert got.difference == pytest.approx(30.0)
    assert got.adjusted_difference == pytest.approx(29.1262, abs=1e-4)
    assert got.standard_error == pytest.approx(10.8226, abs=1e-4)
    assert got.z == pytest.approx(2.6912, abs=1e-4)
    assert got.p_value == pytest.approx(0.00712, abs=1e-5)
    assert got.significant is True
    assert got.difference_ci95 is not None
    assert got.difference_ci95.low == pytest.approx(7.914, abs=1e-3)
    assert got.difference_ci95.high == pytest.approx(50.338, abs=1e-3)
    assert got.method == "adjusted-wald"


def test_interval_agrees_with_the_verdict_on_the_issue_numbers() -> None:
    # a = 1 promoter, 3 passives, 6 detractors (NPS -50); b = 5, 2, 3 (NPS 20). By hand:
    # n' = 13; a: p' = 1.75/13, d' = 6.75/13, NPS' = -38.4615, se = 100*sqrt(0.505917/13) =
    # 19.7273; b: p' = 5.75/13, d' = 3.75/13, NPS' = 15.3846, se = 100*sqrt(0.707101/13) =
    # 23.3222; se = 30.5465; d' = 53.8462; z = 1.7628; p = 0.0779; interval 53.8462 +-
    # 1.959964*30.5465 = [-6.024, 113.716]. The interval used to be centred on the raw 70
    # ([10.13, 129.87]) and excluded 0 while p said "not significant".
    got = compare(hist(1, 3, 6), hist(5, 2, 3))
    assert got.difference == pytest.approx(70.0)
    assert got.adjusted_difference == pytest.approx(53.8462, abs=1e-4)
    assert got.standard_error == pytest.approx(30.5465, abs=1e-4)
    assert got.z == pytest.approx(1.7628, abs=1e-4)
    assert got.p_value == pytest.approx(0.0779, abs=1e-4)
    assert got.significant is False
    assert got.difference_ci95 is not None
    assert got.difference_ci95.low == pytest.approx(-6.024, abs=1e-3)
    assert got.difference_ci95.high == pytest.approx(113.716, abs=1e-3)


def test_one_answer_against_four_stays_within_the_possible_range() -> None:
    # 1 promoter against 4 detractors: raw difference -200, the widest possible. The old
    # interval (raw +- 1.96 se) reached past -200; the adjusted one is inside and holds 0.
    got = compare(hist(1, 0, 0), hist(0, 0, 4))
    assert got.difference == -200.0
    assert got.difference_ci95 is not None and got.significant is False
    assert -200.0 <= got.difference_ci95.low < 0 < got.difference_ci95.high <= 200.0


small = st.integers(min_value=0, max_value=12)
small_histograms = st.builds(hist, small, small, small)


@given(small_histograms, small_histograms, st.sampled_from([0.05, 0.01, 0.10]))
def test_interval_p_and_verdict_come_from_one_estimator(
    a: Histogram, b: Histogram, alpha: float
) -> None:
    got = compare(a, b, alpha=alpha)
    if sum(a) == 0 or sum(b) == 0:
        assert got == NO_COMPARISON
        return
    ci = got.difference_ci95
    assert ci is not None and got.p_value is not None and got.significant is not None
    assert -200.0 <= ci.low <= ci.high <= 200.0
    assert (ci.low > 0 or ci.high < 0) is got.significant
    assert (got.p_value < alpha) is got.significant
    assert got.adjusted_difference is not None and ci.low <= got.adjusted_difference <= ci.high


TINY = [
    hist(p, r, d)
    for n in range(4)
    for p in range(n + 1)
    for d in range(n + 1 - p)
    for r in [n - p - d]
]


@pytest.mark.parametrize("a", TINY)
def test_every_pair_of_groups_of_up_to_three_answers_agrees_with_itself(a: Histogram) -> None:
    # Exhaustive over the edges a random search may miss: n = 0, 1, 2, 3 on either side.
    for b in TINY:
        got = compare(a, b)
        if sum(a) == 0 or sum(b) == 0:
            assert got == NO_COMPARISON
            continue
        ci = got.difference_ci95
        assert ci is not None and -200.0 <= ci.low <= ci.high <= 200.0
        assert (ci.low > 0 or ci.high < 0) is got.significant is (got.p_value < 0.05)  # type: ignore[operator]


@given(nonempty, nonempty)
def test_compare_agrees_with_the_formula(a: Histogram, b: Histogram) -> None:
    (pa, ra, da), (pb, rb, db) = (a[10], a[7], a[0]), (b[10], b[7], b[0])
    adj_a, se_a = _adjusted_by_hand(pa, ra, da)
    adj_b, se_b = _adjusted_by_hand(pb, rb, db)
    pooled = math.sqrt(se_a**2 + se_b**2)
    difference = 100 * (pb - db) / sum(b) - 100 * (pa - da) / sum(a)
    got = compare(a, b)
    assert got.difference == pytest.approx(difference, abs=1e-9)
    assert got.adjusted_difference == pytest.approx(adj_b - adj_a, abs=1e-9)
    assert got.z == pytest.approx((adj_b - adj_a) / pooled, rel=1e-9, abs=1e-9)
    assert got.difference_ci95 is not None
    half = 1.959964 * pooled
    assert got.difference_ci95.low == pytest.approx(max(-200, adj_b - adj_a - half), abs=1e-5)
    assert got.difference_ci95.high == pytest.approx(min(200, adj_b - adj_a + half), abs=1e-5)


def test_small_difference_on_small_samples_is_not_significant() -> None:
    got = compare(hist(5, 3, 2), hist(6, 2, 2))
    assert got.significant is False and got.p_value is not None and got.p_value > 0.5


def test_alpha_sets_the_threshold() -> None:
    a, b = hist(40, 30, 30), hist(55, 25, 20)  # p between 0.01 and 0.05
    loose, strict = compare(a, b), compare(a, b, alpha=0.01)
    assert loose.p_value is not None and 0.01 < loose.p_value < 0.05
    assert loose.significant is True and strict.significant is False


@pytest.mark.parametrize(
    ("a", "b"), [(EMPTY_HISTOGRAM, hist(5, 5, 5)), (hist(1, 0, 0), hist(0, 0, 0))]
)
def test_an_empty_group_gives_no_test(a: Histogram, b: Histogram) -> None:
    got = compare(a, b)
    assert got == NO_COMPARISON
    assert got.difference is None and got.difference_ci95 is None and got.significant is None
    assert got.method == "adjusted-wald"


@given(histograms, histograms)
def test_swapping_groups_negates_difference_and_keeps_p(a: Histogram, b: Histogram) -> None:
    ab, ba = compare(a, b), compare(b, a)
    if ab.p_value is None:
        assert ba.p_value is None and ab.difference is None
        return
    assert ab.difference is not None and ba.difference is not None
    assert ab.z is not None and ba.z is not None
    assert ab.difference == -ba.difference
    assert ab.z == -ba.z
    assert ab.p_value == ba.p_value
    assert 0.0 <= ab.p_value <= 1.0
    assert ab.significant is (ab.p_value < 0.05)


@given(nonempty)
def test_identical_groups_give_z_zero_and_p_one(h: Histogram) -> None:
    got = compare(h, h)
    assert got.z == 0.0 and got.p_value == 1.0 and got.significant is False
    assert got.difference == 0.0


def test_holm_against_a_hand_example() -> None:
    # Sorted 0.01, 0.03, 0.04 -> 3*0.01 = 0.03, 2*0.03 = 0.06, max(1*0.04, 0.06) = 0.06.
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjust([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm_adjust([0.02]) == [0.02]
    assert holm_adjust([]) == []


@given(st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=30))
def test_holm_is_monotone_capped_and_never_below_the_raw_p(ps: list[float]) -> None:
    adjusted = holm_adjust(ps)
    assert len(adjusted) == len(ps)
    assert all(raw <= adj <= 1.0 for raw, adj in zip(ps, adjusted, strict=True))
    ranked = sorted(zip(ps, adjusted, strict=True))
    assert all(x[1] <= y[1] for x, y in itertools.pairwise(ranked))
    assert all(adj <= min(1.0, len(ps) * raw) for raw, adj in zip(ps, adjusted, strict=True))


def test_normal_distribution_helpers() -> None:
    assert normal_cdf(0) == 0.5
    assert normal_cdf(1.959964) == pytest.approx(0.975, abs=1e-7)
    assert normal_cdf(-1.0) == pytest.approx(0.158655254, abs=1e-9)
    assert two_sided_p(1.959964) == pytest.approx(0.05, abs=1e-6)
    assert two_sided_p(-1.959964) == two_sided_p(1.959964)
    assert two_sided_p(0.0) == 1.0


def test_normal_quantiles() -> None:
    assert normal_quantile(0.975) == pytest.approx(1.959964, abs=1e-6)
    assert normal_quantile(0.8) == pytest.approx(0.841621, abs=1e-6)
    assert normal_quantile(0.5) == 0.0
    assert normal_quantile(0.001) == pytest.approx(-3.090232, abs=1e-6)
    assert normal_quantile(1e-10) == pytest.approx(-6.361341, abs=1e-6)
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            normal_quantile(bad)


@given(st.floats(min_value=1e-12, max_value=1 - 1e-12))
def test_quantile_inverts_the_cdf(p: float) -> None:
    x = normal_quantile(p)
    assert normal_cdf(x) == pytest.approx(p, rel=1e-9, abs=1e-15)
    if 1e-6 < p < 1 - 1e-6:  # closer to 0 or 1, 1 - p itself carries the rounding
        assert normal_quantile(1 - p) == pytest.approx(-x, abs=1e-8)


def test_sample_size_for_a_margin() -> None:
    # Worst case (variance 1): n' = (196 / 5)^2 = 1536.64 -> 1537 - 3 = 1534.
    assert sample_size_for_margin(EMPTY_HISTOGRAM, 5) == 1534
    # (196 / 10)^2 = 384.16 -> 385 - 3 = 382.
    assert sample_size_for_margin(EMPTY_HISTOGRAM, 10) == 382
    # Exact solutions must not round up on float noise: (196 / (196/3))^2 = 9 -> 9 - 3.
    assert sample_size_for_margin(EMPTY_HISTOGRAM, 196 / 3) == 6
    assert sample_size_for_margin(EMPTY_HISTOGRAM, 1.96) == 10000 - 3
    assert sample_size_for_margin(EMPTY_HISTOGRAM, 500) == 1
    with pytest.raises(ValueError):
        sample_size_for_margin(EMPTY_HISTOGRAM, 0)


@given(histograms, st.floats(min_value=0.5, max_value=50), st.floats(min_value=0.5, max_value=50))
def test_sample_size_shrinks_as_the_margin_widens(h: Histogram, m1: float, m2: float) -> None:
    narrow, wide = sorted((m1, m2))
    assert sample_size_for_margin(h, narrow) >= sample_size_for_margin(h, wide)


@given(nonempty, st.floats(min_value=0.5, max_value=50))
def test_sample_size_is_the_smallest_reaching_the_margin(h: Histogram, margin: float) -> None:
    _, se = _adjusted_by_hand(h[10], h[7], h[0])
    variance = (se / 100) ** 2 * (sum(h) + 3)  # the observed sample's adjusted variance

    def half_width(n: int) -> float:
        return 196 * math.sqrt(variance / (n + 3))

    n = sample_size_for_margin(h, margin)
    assert half_width(n) <= margin * (1 + 1e-9)
    assert n == 1 or half_width(n - 1) > margin * (1 - 1e-9)


def test_needed_per_group_for_ten_points() -> None:
    # Worst case, 80 % power, alpha 0.05: (1.959964 + 0.841621)^2 * 2 * 10000 / 100 = 1569.8
    assert needed_per_group(EMPTY_HISTOGRAM, 10) == 1570
    # Halving the effect quadruples the answers: 6279.1 -> 6280.
    assert needed_per_group(EMPTY_HISTOGRAM, 5) == 6280
    # alpha 0.01, 90 % power: (2.575829 + 1.281552)^2 * 2 * 10000 / 400 = 743.97 -> 744.
    assert needed_per_group(EMPTY_HISTOGRAM, 20, alpha=0.01, power=0.9) == 744
    for bad in ({"min_effect": 0}, {"min_effect": 10, "alpha": 0}, {"min_effect": 10, "power": 1}):
        with pytest.raises(ValueError):
            needed_per_group(EMPTY_HISTOGRAM, **bad)


@given(histograms, st.floats(min_value=1, max_value=50))
def test_needed_per_group_is_at_most_the_worst_case(h: Histogram, effect: float) -> None:
    assert 1 <= needed_per_group(h, effect) <= needed_per_group(EMPTY_HISTOGRAM, effect)
