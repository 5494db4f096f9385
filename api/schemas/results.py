"""NPS results on the wire."""

from __future__ import annotations

from datetime import date

import msgspec

from domain.nps import NpsSummary
from domain.periods import TrendInterval
from domain.results import Group, Point


class Ci95(msgspec.Struct, frozen=True, kw_only=True):
    low: float
    high: float


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """NPS figures of one set of answers; nulls when there are none."""

    nps: float | None
    total: int
    promoters: int
    passives: int
    detractors: int
    promoters_pct: float | None
    passives_pct: float | None
    detractors_pct: float | None
    mean_score: float | None
    histogram: list[int]
    margin_of_error: float | None
    ci95: Ci95 | None


class NpsResult(Figures, frozen=True, kw_only=True):
    from_: date = msgspec.field(name="from")
    to: date


class BreakdownGroup(Figures, frozen=True, kw_only=True):
    value: str


class Breakdown(msgspec.Struct, frozen=True, kw_only=True):
    dimension: str
    from_: date = msgspec.field(name="from")
    to: date
    groups: list[BreakdownGroup]


class TrendPoint(Figures, frozen=True, kw_only=True):
    start: date
    end: date


class Trend(msgspec.Struct, frozen=True, kw_only=True):
    interval: TrendInterval
    from_: date = msgspec.field(name="from")
    to: date
    points: list[TrendPoint]


def figures(s: NpsSummary) -> dict[str, object]:
    return {
        "nps": s.nps,
        "total": s.total,
        "promoters": s.promoters,
        "passives": s.passives,
        "detractors": s.detractors,
        "promoters_pct": s.promoters_pct,
        "passives_pct": s.passives_pct,
        "detractors_pct": s.detractors_pct,
        "mean_score": s.mean_score,
        "histogram": list(s.histogram),
        "margin_of_error": s.margin_of_error,
        "ci95": Ci95(low=s.ci95.low, high=s.ci95.high) if s.ci95 else None,
    }


def nps_result(s: NpsSummary, start: date, end: date) -> NpsResult:
    return NpsResult(**figures(s), from_=start, to=end)  # type: ignore[arg-type]


def breakdown_group(g: Group) -> BreakdownGroup:
    return BreakdownGroup(**figures(g.summary), value=g.value)  # type: ignore[arg-type]


def trend_point(p: Point) -> TrendPoint:
    return TrendPoint(**figures(p.summary), start=p.start, end=p.end)  # type: ignore[arg-type]
