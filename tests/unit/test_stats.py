"""Comparisons: checked against computations written here, and by their properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.stats import (
    compare,
    holm_adjust,
    needed_per_group,
    normal_cdf,
    normal_quantile,
    sample_size_for_margin,
    two_sided_p,
)


def hist(promoters: int, passives: int, detractors: int) -> tuple[int, ...]:
    return (detractors, 0, 0, 0, 0, 0, 0, passives, 0, 0, promoters)


histograms = st.tuples(*(st.integers(0, 400) for _ in range(3))).map(lambda t: hist(*t))


def _by_hand(p: int, pa: int, d: int) -> tuple[float, float]:
    """Adjusted NPS and its standard error (percentage points), computed independently."""
    n = p + pa + d + 3
    pp, dd = (p + 0.75) / n, (d + 0.75) / n
    return 100 * (pp - dd), 100 * math.sqrt((pp + dd - (pp - dd) ** 2) / n)


def test_compare_matches_a_hand_computation() -> None:
    a, b = hist(30, 40, 30), hist(50, 30, 20)  # NPS 0 vs 30
    got = compare(a, b)
    adj_a, se_a = _by_hand(30, 40, 30)
    adj_b, se_b = _by_hand(50, 30, 20)
    z = (adj_b - adj_a) / math.sqrt(se_a**2 + se_b**2)
    assert got.difference == pytest.approx(30.0)
    assert got.z == pytest.approx(z)
    assert got.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))
    assert got.significant is True
    assert got.difference_ci95 is not None
    half = 1.96 * math.sqrt(se_a**2 + se_b**2)  # the z of every interval here
    assert got.difference_ci95.low == pytest.approx(30.0 - half, rel=1e-6)


def test_small_difference_on_small_samples_is_not_significant() -> None:
    got = compare(hist(5, 3, 2), hist(6, 2, 2))
    assert got.significant is False and got.p_value is not None and got.p_value > 0.5


def test_an_empty_group_gives_no_test() -> None:
    got = compare(hist(0, 0, 0), hist(5, 5, 5))
    assert got.z is got.p_value is got.significant is got.difference is None


@given(histograms, histograms)
def test_swapping_groups_negates_difference_and_keeps_p(a, b) -> None:  # type: ignore[no-untyped-def]
    ab, ba = compare(a, b), compare(b, a)
    if ab.p_value is None:
        assert ba.p_value is None
        return
    assert ab.difference == pytest.approx(-ba.difference)  # type: ignore[operator]
    assert ab.p_value == pytest.approx(ba.p_value)
    assert 0.0 <= ab.p_value <= 1.0


@given(histograms)
def test_identical_groups_give_p_one(h) -> None:  # type: ignore[no-untyped-def]
    got = compare(h, h)
    if got.p_value is not None:
        assert got.z == 0.0 and got.p_value == 1.0 and got.significant is False


def test_holm_against_a_hand_example() -> None:
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm_adjust([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm_adjust([]) == []


def test_normal_distribution_helpers() -> None:
    assert normal_cdf(0) == 0.5
    assert normal_quantile(0.975) == pytest.approx(1.959964, abs=1e-6)
    assert normal_quantile(0.8) == pytest.approx(0.841621, abs=1e-6)
    assert normal_quantile(0.001) == pytest.approx(-3.090232, abs=1e-6)
    assert two_sided_p(1.959964) == pytest.approx(0.05, abs=1e-6)


@given(st.floats(min_value=1e-6, max_value=1 - 1e-6))
def test_quantile_inverts_the_cdf(p: float) -> None:
    assert normal_cdf(normal_quantile(p)) == pytest.approx(p, abs=1e-9)


def test_sample_size_for_a_margin() -> None:
    # Worst case (variance 1): n' = (196 / 5)^2 = 1536.64 -> 1537 - 3 = 1534.
    assert sample_size_for_margin(hist(0, 0, 0), 5) == 1534
    assert sample_size_for_margin(hist(50, 30, 20), 10) < sample_size_for_margin(
        hist(50, 30, 20), 5
    )


def test_needed_per_group_for_ten_points() -> None:
    # Worst case, 80 % power, alpha 0.05: (1.959964 + 0.841621)^2 * 2 * 10000 / 100 = 1569.8
    assert needed_per_group(hist(0, 0, 0), 10) == 1570
