"""The domain's statistics against numbers worked out in published sources.

Each test names its source and quotes the figures it reproduces; the inputs are the
source's, the expected values are the source's own (at the source's rounding).
"""

from __future__ import annotations

import math

import pytest

from domain.nps import Histogram, summarize
from domain.stats import normal_quantile, sample_size_for_margin, two_sided_p


def hist(promoters: int, passives: int, detractors: int) -> Histogram:
    return (detractors, 0, 0, 0, 0, 0, 0, passives, 0, 0, promoters)


def test_interval_width_follows_the_320_over_root_n_rule_of_cybaea() -> None:
    # Allan Engelhardt, "Net Promoter Score confidence intervals 2: maths and stats",
    # CYBAEA, 14 January 2016 (cybaea.net/journal/2016/01/14/NPS-confidence-intervals-stats/):
    # Var(NPS) = 100^2 (p(1-p) + d(1-d) + 2pd) / n, and for p = d = 1/3 "CI ~ 320/sqrt(n)"
    # (the full width of the 95 % interval). Thirds of 3,000 answers: 320/sqrt(3000) = 5.84.
    s = summarize(hist(1000, 1000, 1000))
    assert s.ci95 is not None
    width = s.ci95.high - s.ci95.low
    assert width == pytest.approx(320 / math.sqrt(3000), rel=0.005)
    # The same rule on a small sample: the +3 pseudo-answers only widen it by sqrt(n'/n).
    small = summarize(hist(100, 100, 100))
    assert small.ci95 is not None
    assert small.ci95.high - small.ci95.low == pytest.approx(320 / math.sqrt(300), rel=0.01)


def test_answers_needed_match_cybaea_1024_and_102400() -> None:
    # Same source: "n ~ (320/CI)^2", so "for a confidence interval width of 10 or 1, you need
    # 1024 or 102,400 responses". A width of 10 is a margin of +-5, a width of 1 of +-0.5.
    # Ours subtracts the 3 pseudo-answers and uses 1.96 (320 is 2*1.96*100*sqrt(2/3) rounded).
    thirds = hist(10_000, 10_000, 10_000)  # p' and d' within 0.01 % of 1/3
    assert sample_size_for_margin(thirds, 5) == pytest.approx(1024, abs=3)
    assert sample_size_for_margin(thirds, 0.5) == pytest.approx(102_400, rel=0.001)


def test_margin_of_the_talkstats_sample_is_4_4_points() -> None:
    # talkstats.com thread "Net Promoter Score - Calculating Confidence Intervals and Margin of
    # Error" (thread 58500): "In my sample of 1162, I have 291 Promoters, 476 Neutral and 395
    # Detractors. I therefore have an NPS of -9. We have calculated a confidence interval of
    # 4.4." The 4.4 is the half-width (margin of error) of the 95 % interval.
    s = summarize(hist(291, 476, 395))
    assert s.total == 1162
    assert s.nps is not None and round(s.nps) == -9
    assert s.margin_of_error is not None and round(s.margin_of_error, 1) == 4.4


def test_significance_thresholds_of_the_measuringu_benchmark_test() -> None:
    # Jim Lewis and Jeff Sauro, "How to Compare a Net Promoter Score with a Benchmark",
    # MeasuringU, 2021: "the bar for declaring significance is lower for a one-tailed test
    # (Z > 1.645 vs. |Z| > 1.96)" at alpha = .05. Our two-sided p and quantile agree.
    assert two_sided_p(1.96) == pytest.approx(0.05, abs=5e-4)
    assert normal_quantile(0.975) == pytest.approx(1.96, abs=5e-4)
    assert normal_quantile(0.95) == pytest.approx(1.645, abs=5e-4)
    assert two_sided_p(1.645) == pytest.approx(0.10, abs=5e-4)
