"""Comparisons of NPS results: is a difference real, and how many answers would tell.

Method (Lewis & Sauro, MeasuringU, "How to Statistically Compare Two Net Promoter
Scores"): each group's adjusted-Wald estimate and standard error (n' = n+3, 3/4 added to
promoters and to detractors); one estimator gives everything: the adjusted difference
d' = NPS'_b - NPS'_a, se = sqrt(se_a^2 + se_b^2), z = d'/se, the two-sided normal p and the
interval d' +- z_(1-alpha/2)*se, so the interval excludes 0 exactly when p < alpha. The
groups are treated as independent samples.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import msgspec

from domain.nps import Z95, Histogram, Interval, adjusted_wald, summarize


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def two_sided_p(z: float) -> float:
    return min(1.0, math.erfc(abs(z) / math.sqrt(2)))


def normal_quantile(p: float) -> float:
    """Inverse of normal_cdf: Acklam's rational approximation refined by two Newton steps."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must lie strictly between 0 and 1")
    if p > 0.5:
        return -normal_quantile(1.0 - p)  # exact subtraction; refine where the cdf is accurate
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


def _counts(h: Histogram) -> tuple[int, int, int]:
    """(promoters, detractors, total), the histogram checked."""
    s = summarize(h)
    return s.promoters, s.detractors, s.total


def _adjusted(promoters: int, detractors: int, total: int) -> tuple[float, float]:
    """(adjusted NPS 100(p'-d'), its adjusted-Wald standard error), on the -100..100 scale."""
    se, _, _ = adjusted_wald(promoters=promoters, detractors=detractors, total=total)
    return 100 * (promoters - detractors) / (total + 3), se


DIFFERENCE_BOUND = 200.0  # no difference of two NPS values lies outside -200..200


@functools.lru_cache(maxsize=256)
def critical_z(alpha: float) -> float:
    """The two-sided critical value: |z| > critical_z(alpha) exactly when p < alpha."""
    return normal_quantile(1 - alpha / 2)


def difference_interval(centre: float, se: float, z: float) -> Interval:
    """centre +- z*se, clipped to [-200, 200] (clipping never moves 0 in or out)."""
    return Interval(
        low=max(-DIFFERENCE_BOUND, centre - z * se), high=min(DIFFERENCE_BOUND, centre + z * se)
    )


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    """b against a. The interval, z, p and `significant` all come from the adjusted estimate."""

    difference: float | None  # nps_b - nps_a, the raw NPS values
    adjusted_difference: float | None  # NPS'_b - NPS'_a: the interval's centre and z's numerator
    standard_error: float | None  # sqrt(se_a^2 + se_b^2), adjusted-Wald, points
    difference_ci95: Interval | None  # adjusted_difference +- critical_z * se, within +-200
    z: float | None
    p_value: float | None
    significant: bool | None  # p < alpha, i.e. the interval excludes 0
    method: str = "adjusted-wald"
    assumption: str = "the two groups are independent samples"


NO_COMPARISON = Comparison(
    difference=None,
    adjusted_difference=None,
    standard_error=None,
    difference_ci95=None,
    z=None,
    p_value=None,
    significant=None,
)


def compare(a: Histogram, b: Histogram, *, alpha: float = 0.05) -> Comparison:
    """b against a at two-sided `alpha`, interval at level 1 - alpha; None for an empty group."""
    return _compare(tuple(a), tuple(b), alpha)


@functools.lru_cache(maxsize=4096)  # a breakdown compares the same groups on every read
def _compare(a: Histogram, b: Histogram, alpha: float) -> Comparison:
    pa, da, na = _counts(a)
    pb, db, nb = _counts(b)
    if na == 0 or nb == 0:
        return NO_COMPARISON
    adj_a, se_a = _adjusted(pa, da, na)
    adj_b, se_b = _adjusted(pb, db, nb)
    se = math.sqrt(se_a**2 + se_b**2)
    adjusted = adj_b - adj_a
    z = adjusted / se
    p = two_sided_p(z)
    return Comparison(
        difference=100 * (pb - db) / nb - 100 * (pa - da) / na,
        adjusted_difference=adjusted,
        standard_error=se,
        difference_ci95=difference_interval(adjusted, se, critical_z(alpha)),
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


def holm_levels(p_values: Sequence[float], *, alpha: float = 0.05) -> list[float]:
    """Per test, the two-sided level of its interval compatible with Holm's decisions at alpha.

    The k-th smallest p (k from 0) is tested at alpha/(m-k) while every smaller one was
    rejected; from the first that is not, every later test keeps that step's level. So each
    interval excludes 0 exactly when its Holm-adjusted p is below alpha.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    levels = [0.0] * m
    step_open = True
    level = alpha / m if m else alpha
    for rank, i in enumerate(order):
        if step_open:
            level = alpha / (m - rank)
            step_open = (m - rank) * p_values[i] < alpha
        levels[i] = level
    return levels


def _variance(h: Histogram) -> float:
    """Per-answer variance p'+d'-(p'-d')^2 of the +1/0/-1 score, from adjusted-Wald shares.

    The adjusted shares (3/4 added to promoters and to detractors over n+3) keep the variance
    above zero when every answer falls in one category; no answers give the worst case 1.
    """
    p, d, n = _counts(h)
    if n == 0:
        return 1.0  # half promoters, half detractors
    pp, dd = (p + 0.75) / (n + 3), (d + 0.75) / (n + 3)
    return pp + dd - (pp - dd) ** 2


def _ceil(x: float) -> int:
    """Ceiling that ignores float noise, so that an exact 10000.000000000002 gives 10000."""
    return math.ceil(x - 1e-9 * max(1.0, abs(x)))


def sample_size_for_margin(histogram: Histogram, margin: float) -> int:
    """Smallest n >= 1 whose 95 % adjusted-Wald half-width (unclipped) is <= margin points.

    Closed form with n' = n+3: n = ceil((1.96*100)^2 * v / margin^2) - 3.
    """
    if not margin > 0:
        raise ValueError("margin must be positive")
    return max(1, _ceil((Z95 * 100) ** 2 * _variance(histogram) / margin**2) - 3)


def needed_per_group(
    histogram: Histogram, min_effect: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Answers per group to detect min_effect NPS points with `power` at two-sided `alpha`.

    n = ceil((z_{1-alpha/2} + z_power)^2 * 2v * 100^2 / min_effect^2), both groups assumed to
    have the variance v of `histogram`.
    """
    if not min_effect > 0:
        raise ValueError("min_effect must be positive")
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError("alpha and power must lie strictly between 0 and 1")
    z = normal_quantile(1 - alpha / 2) + normal_quantile(power)
    return max(1, _ceil(z**2 * 2 * _variance(histogram) * 100**2 / min_effect**2))
