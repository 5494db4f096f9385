"""NPS arithmetic on 11-bin score histograms, with the adjusted-Wald interval."""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Iterable

import msgspec

Histogram = tuple[int, ...]
"""Always 11 counts; the index is the score."""

EMPTY_HISTOGRAM: Histogram = (0,) * 11


class Category(enum.StrEnum):
    PROMOTER = "promoter"
    PASSIVE = "passive"
    DETRACTOR = "detractor"


# The one definition of the categories: SQL takes its copy from here (infra/postgres/categories.py).
PROMOTER_MIN = 9  # 9-10 promoters
PASSIVE_MIN = 7  # 7-8 passives; below: detractors


def classify(score: int) -> Category:
    """9-10 promoter, 7-8 passive, 0-6 detractor; ValueError outside 0..10."""
    if not 0 <= score <= 10:
        raise ValueError(f"score must be 0..10, got {score}")
    if score >= PROMOTER_MIN:
        return Category.PROMOTER
    return Category.PASSIVE if score >= PASSIVE_MIN else Category.DETRACTOR


def _checked(h: Histogram) -> Histogram:
    if len(h) != 11 or any(c < 0 for c in h):
        raise ValueError("a histogram has 11 non-negative counts")
    return tuple(h)


def add_histograms(*hs: Histogram) -> Histogram:
    """Bin-wise sum (ValueError unless each has 11 bins); no arguments give EMPTY_HISTOGRAM."""
    return tuple(sum(bins) for bins in zip(EMPTY_HISTOGRAM, *hs, strict=True))


def histogram_of(scores: Iterable[int]) -> Histogram:
    bins = [0] * 11
    for score in scores:
        classify(score)
        bins[score] += 1
    return tuple(bins)


class Interval(msgspec.Struct, frozen=True, kw_only=True):
    low: float
    high: float


class NpsSummary(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    promoters_pct: float | None
    passives_pct: float | None
    detractors_pct: float | None
    mean_score: float | None
    histogram: Histogram
    margin_of_error: float | None  # 1.96 * standard_error: the interval's +- before clipping
    ci95: Interval | None  # 100(p'-d') +- margin_of_error, clipped to [-100, 100]
    standard_error: float | None  # adjusted-Wald, on the -100..100 scale


Z95 = 1.96  # the z of every result's ci95 and margin_of_error


def adjusted_wald(
    *, promoters: int, detractors: int, total: int, z: float = Z95
) -> tuple[float, float, float]:
    """(100*se, low, high) of the adjusted-Wald interval (Rocks 2016), ends clipped to +-100.

    n' = N+3, p' = (P+3/4)/n', d' = (D+3/4)/n', se = sqrt((p'+d'-(p'-d')^2)/n'),
    interval = 100(p'-d') +- z*100*se.
    """
    if total < 0 or promoters < 0 or detractors < 0 or promoters + detractors > total:
        raise ValueError("counts must be non-negative with promoters + detractors <= total")
    n = total + 3
    p = (promoters + 0.75) / n
    d = (detractors + 0.75) / n
    se = math.sqrt((p + d - (p - d) ** 2) / n)
    centre = 100 * (p - d)
    low = max(-100.0, centre - z * 100 * se)
    high = min(100.0, centre + z * 100 * se)
    return 100 * se, low, high


def _empty_summary(h: Histogram) -> NpsSummary:
    return NpsSummary(
        total=0,
        promoters=0,
        passives=0,
        detractors=0,
        nps=None,
        promoters_pct=None,
        passives_pct=None,
        detractors_pct=None,
        mean_score=None,
        histogram=h,
        margin_of_error=None,
        ci95=None,
        standard_error=None,
    )


def summarize(histogram: Histogram) -> NpsSummary:
    """All figures of one histogram, unrounded; None where there are no answers."""
    return _summary(_checked(histogram))


@functools.lru_cache(maxsize=4096)  # dashboards ask for the same histograms again and again
def _summary(h: Histogram) -> NpsSummary:
    total = sum(h)
    if total == 0:
        return _empty_summary(h)
    promoters = h[9] + h[10]
    passives = h[7] + h[8]
    detractors = total - promoters - passives
    se, low, high = adjusted_wald(promoters=promoters, detractors=detractors, total=total)
    return NpsSummary(
        total=total,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        nps=100 * (promoters - detractors) / total,
        promoters_pct=100 * promoters / total,
        passives_pct=100 * passives / total,
        detractors_pct=100 * detractors / total,
        mean_score=sum(i * c for i, c in enumerate(h)) / total,
        histogram=h,
        margin_of_error=Z95 * se,  # the half-width before clipping, what sample sizes plan for
        ci95=Interval(low=low, high=high),
        standard_error=se,
    )
