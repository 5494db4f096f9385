"""Comparisons of NPS results: is a difference real, and how many answers would tell.

Method (Lewis & Sauro, MeasuringU, "How to Statistically Compare Two Net Promoter
Scores"): each group's adjusted-Wald standard error (n' = n+3, 3/4 added to promoters and
to detractors); z = (NPS'_b - NPS'_a) / sqrt(se_a^2 + se_b^2) on the adjusted estimates;
two-sided p from the normal distribution. The groups are treated as independent samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec

from domain.nps import Histogram, Interval, adjusted_wald

Z95 = 1.959963984540054


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def two_sided_p(z: float) -> float:
    return min(1.0, math.erfc(abs(z) / math.sqrt(2)))


def normal_quantile(p: float) -> float:
    """Inverse of normal_cdf (Acklam's rational approximation, refined by Newton steps)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must lie strictly between 0 and 1")
    x = _acklam(p)
    for _ in range(2):  # Newton: x -= (cdf(x) - p) / pdf(x)
        x -= (normal_cdf(x) - p) / (math.exp(-x * x / 2) / math.sqrt(2 * math.pi))
    return x


_A = (
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.3577518672690,
    -30.66479806614716,
    2.506628277459239,
)
_B = (
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
)
_C = (
    -0.007784894002430293,
    -0.3223964580411365,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
)
_D = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)


def _acklam(p: float) -> float:
    if p < 0.02425:
        q = math.sqrt(-2 * math.log(p))
        return _poly(_C, q) / (_poly(_D, q) * q + 1)
    if p > 1 - 0.02425:
        return -_acklam(1 - p)
    q = p - 0.5
    r = q * q
    return _poly(_A, r) * q / (_poly(_B, r) * r + 1)


def _poly(coef: Sequence[float], x: float) -> float:
    acc = 0.0
    for c in coef:
        acc = acc * x + c
    return acc


def _shares(h: Histogram) -> tuple[int, int, int]:
    """(promoters, detractors, total)."""
    return h[9] + h[10], sum(h[:7]), sum(h)


def _adjusted(h: Histogram) -> tuple[float, float]:
    """(adjusted NPS, its standard error), both on the -100..100 scale."""
    p, d, n = _shares(h)
    se, _, _ = adjusted_wald(promoters=p, detractors=d, total=n)
    return 100 * (p - d) / (n + 3), se


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    difference: float | None
    difference_ci95: Interval | None
    z: float | None
    p_value: float | None
    significant: bool | None
    method: str = "adjusted-wald"
    assumption: str = "the two groups are independent samples"


def compare(a: Histogram, b: Histogram, *, alpha: float = 0.05) -> Comparison:
    """b against a; every figure None when either group is empty."""
    pa, da, na = _shares(a)
    pb, db, nb = _shares(b)
    if na == 0 or nb == 0:
        return Comparison(
            difference=None, difference_ci95=None, z=None, p_value=None, significant=None
        )
    adj_a, se_a = _adjusted(a)
    adj_b, se_b = _adjusted(b)
    se = math.sqrt(se_a**2 + se_b**2)
    z = (adj_b - adj_a) / se
    p = two_sided_p(z)
    difference = 100 * (pb - db) / nb - 100 * (pa - da) / na
    return Comparison(
        difference=difference,
        difference_ci95=Interval(low=difference - Z95 * se, high=difference + Z95 * se),
        z=z,
        p_value=p,
        significant=p < alpha,
    )


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order, monotone and capped at 1."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def _variance(h: Histogram) -> float:
    """Per-answer variance of the promoter(+1)/detractor(-1) score, adjusted-Wald shares."""
    p, d, n = _shares(h)
    if n == 0:
        return 1.0  # worst case: half promoters, half detractors
    pp, dd = (p + 0.75) / (n + 3), (d + 0.75) / (n + 3)
    return pp + dd - (pp - dd) ** 2


def sample_size_for_margin(h: Histogram, margin: float) -> int:
    """Answers for a 95 % interval of ±margin points, given the observed distribution."""
    if margin <= 0:
        raise ValueError("margin must be positive")
    n = math.ceil((Z95 * 100) ** 2 * _variance(h) / margin**2) - 3
    return max(1, n)


def needed_per_group(
    h: Histogram, min_effect: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Answers per group to detect min_effect points with `power` at two-sided `alpha`."""
    if min_effect <= 0:
        raise ValueError("min_effect must be positive")
    z = normal_quantile(1 - alpha / 2) + normal_quantile(power)
    return max(1, math.ceil(z**2 * 2 * _variance(h) * 100**2 / min_effect**2))
