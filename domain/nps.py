"""NPS arithmetic on 11-bin score histograms, with the adjusted-Wald interval."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable

import msgspec

Histogram = tuple[int, ...]
EMPTY_HISTOGRAM: Histogram = (0,) * 11


class Category(enum.StrEnum):
    PROMOTER = "promoter"
    PASSIVE = "passive"
    DETRACTOR = "detractor"


def classify(score: int) -> Category:
    """9-10 promoter, 7-8 passive, 0-6 detractor."""
    if not 0 <= score <= 10:
        raise ValueError(f"score must be 0..10, got {score}")
    if score >= 9:
        return Category.PROMOTER
    return Category.PASSIVE if score >= 7 else Category.DETRACTOR


def add_histograms(*hs: Histogram) -> Histogram:
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
    margin_of_error: float | None
    ci95: Interval | None
    standard_error: float | None


def adjusted_wald(
    *, promoters: int, detractors: int, total: int, z: float = 1.96
) -> tuple[float, float, float]:
    """(100·se, low, high) of the adjusted-Wald interval (Rocks 2016), clipped to ±100."""
    n = total + 3
    p = (promoters + 0.75) / n
    d = (detractors + 0.75) / n
    se = math.sqrt((p + d - (p - d) ** 2) / n)
    centre = 100 * (p - d)
    low = max(-100.0, centre - z * 100 * se)
    high = min(100.0, centre + z * 100 * se)
    return 100 * se, low, high


def summarize(histogram: Histogram) -> NpsSummary:
    if len(histogram) != 11 or any(c < 0 for c in histogram):
        raise ValueError("a histogram has 11 non-negative counts")
    total = sum(histogram)
    promoters = histogram[9] + histogram[10]
    passives = histogram[7] + histogram[8]
    detractors = total - promoters - passives
    if total == 0:
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
            histogram=histogram,
            margin_of_error=None,
            ci95=None,
            standard_error=None,
        )
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
        mean_score=sum(i * c for i, c in enumerate(histogram)) / total,
        histogram=tuple(histogram),
        margin_of_error=(high - low) / 2,
        ci95=Interval(low=low, high=high),
        standard_error=se,
    )
