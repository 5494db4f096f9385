"""Breakdown `vs_rest`: one rule (Holm) for `significant` and `flag`; the interval agrees."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.nps import Histogram, add_histograms, summarize
from domain.results import Group, VsRest, vs_rest
from domain.stats import holm_adjust, holm_levels


def hist(promoters: int, passives: int, detractors: int) -> Histogram:
    return (detractors, 0, 0, 0, 0, 0, 0, passives, 0, 0, promoters)


def _judge(*hists: Histogram) -> list[VsRest]:
    groups = [Group(value=str(i), summary=summarize(h)) for i, h in enumerate(hists)]
    return vs_rest(groups, add_histograms(*hists))


def _excludes_zero(v: VsRest) -> bool:
    ci = v.comparison.difference_ci95
    assert ci is not None
    return ci.low > 0 or ci.high < 0


def test_holm_levels_against_a_hand_example() -> None:
    # p = 0.01, 0.04, 0.03 (m = 3): 0.01 < 0.05/3 rejected at level 0.05/3; next 0.03 is
    # tested at 0.05/2 = 0.025 and fails, so Holm stops: 0.03 and 0.04 keep level 0.025.
    assert holm_levels([0.01, 0.04, 0.03]) == pytest.approx([0.05 / 3, 0.025, 0.025])
    assert holm_levels([0.001, 0.002]) == pytest.approx([0.025, 0.05])
    assert holm_levels([]) == []


def test_a_value_significant_only_before_adjustment_is_in_line_and_not_significant() -> None:
    # Three values: "0" differs from the rest with a raw p of 0.035, which Holm's
    # adjustment over three values lifts to 0.104. It used to say significant: true
    # (raw p) beside flag: in_line (adjusted p).
    got = _judge(hist(26, 10, 10), hist(10, 10, 10), hist(10, 10, 10))
    first = got[0]
    assert first.comparison.p_value == pytest.approx(0.0347, abs=1e-4)
    assert first.p_value_adjusted == pytest.approx(0.1040, abs=1e-4)
    assert first.flag == "in_line" and first.comparison.significant is False
    assert not _excludes_zero(first)


def test_a_clear_outlier_is_flagged_significant_with_an_interval_below_zero() -> None:
    got = _judge(hist(2, 8, 40), hist(30, 10, 10), hist(28, 12, 10), hist(29, 11, 10))
    worst = got[0]
    assert worst.flag == "below" and worst.comparison.significant is True
    ci = worst.comparison.difference_ci95
    assert ci is not None and ci.high < 0
    assert worst.ci_level_pct == pytest.approx(100 * (1 - 0.05 / 4))  # the first Holm step of four


def test_a_single_value_has_no_rest_to_compare_with() -> None:
    (only,) = _judge(hist(3, 2, 1))
    assert only.flag == "in_line" and only.comparison.significant is None
    assert only.comparison.difference_ci95 is None and only.ci_level_pct is None


small = st.integers(min_value=0, max_value=15)
groups_of = st.lists(
    st.builds(hist, small, small, small).filter(lambda h: sum(h) > 0), min_size=1, max_size=7
)


@given(groups_of)
def test_flag_significant_and_interval_agree_for_every_value(hists: list[Histogram]) -> None:
    got = _judge(*hists)
    tested = [v for v in got if v.comparison.p_value is not None]
    raw = [v.comparison.p_value for v in tested]
    assert [v.p_value_adjusted for v in tested] == holm_adjust(raw)  # type: ignore[arg-type]
    for v in got:
        c = v.comparison
        if c.p_value is None:  # the value holds every answer: no rest
            assert v.flag == "in_line" and c.significant is None
            continue
        assert v.p_value_adjusted is not None and c.adjusted_difference is not None
        assert c.significant is (v.p_value_adjusted < 0.05)
        assert (v.flag != "in_line") is c.significant
        assert _excludes_zero(v) is c.significant
        ci = c.difference_ci95
        assert ci is not None and -200.0 <= ci.low <= ci.high <= 200.0
        if c.significant:
            assert v.flag == ("below" if ci.high < 0 else "above")
        assert v.ci_level_pct is not None and 95.0 <= v.ci_level_pct < 100.0


def test_a_repeated_breakdown_is_judged_once_and_a_large_one_is_not_kept() -> None:
    from domain import results

    hists = [hist(30 + i, 20, 10 + i % 7) for i in range(12)]
    results._kept_vs_rest.cache_clear()
    first = _judge(*hists)
    assert _judge(*hists) == first  # the same judgement, kept
    info = results._kept_vs_rest.cache_info()
    assert (info.hits, info.misses) == (1, 1)
    assert _judge(*hists[:-1]) != first[:-1]  # other histograms, another judgement
    many = [hist(i % 9, 3, i % 5) for i in range(results.MAX_KEPT_VS_REST + 1)]
    before = results._kept_vs_rest.cache_info().currsize
    assert len(_judge(*many)) == len(many)
    assert results._kept_vs_rest.cache_info().currsize == before
