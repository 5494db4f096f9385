"""NPS results on the wire."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from domain import results
from domain.decisions import ChangeRecord, TargetVerdict
from domain.nps import Interval, NpsSummary
from domain.periods import TrendInterval
from domain.results import Group, Point
from domain.stats import Comparison


class Ci95(msgspec.Struct, frozen=True, kw_only=True):
    low: float
    high: float


def _doc(text: str) -> msgspec.Meta:
    return msgspec.Meta(description=text)


def _pct(category: str) -> msgspec.Meta:
    return _doc(f"percentage (0-100) of the answers that are {category}")


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """NPS figures of one set of answers; nulls when there are none."""

    nps: Annotated[
        float | None, _doc("`promoters_pct` - `detractors_pct`, from -100 to 100, unrounded")
    ]
    total: int
    promoters: int
    passives: int
    detractors: int
    promoters_pct: Annotated[float | None, _pct("promoters (9-10)")]
    passives_pct: Annotated[float | None, _pct("passives (7-8)")]
    detractors_pct: Annotated[float | None, _pct("detractors (0-6)")]
    mean_score: float | None
    histogram: list[int]
    margin_of_error: Annotated[
        float | None,
        _doc(
            "1.96 x the adjusted-Wald standard error, in points: the +- of `ci95` before it "
            "is clipped to [-100, 100] (so near the ends `ci95` is narrower on one side), "
            "and the figure `/v1/nps/sample-size` plans for"
        ),
    ]
    ci95: Annotated[
        Ci95 | None,
        _doc(
            "adjusted-Wald 95 % interval (Rocks 2016): 100(p'-d') +- `margin_of_error` with "
            "p' = (P + 3/4)/(N + 3), d' = (D + 3/4)/(N + 3), clipped to [-100, 100]"
        ),
    ]
    target: Annotated[
        float | None, _doc("the NPS target set for exactly this scope (PUT /v1/targets)")
    ] = None
    gap: Annotated[
        float | None,
        _doc("`nps` - `target`: positive above the target, negative short of it, in points"),
    ] = None
    target_met: Literal["yes", "no", "uncertain"] | None = None  # judged on the interval


class NpsResult(Figures, frozen=True, kw_only=True):
    from_: date = msgspec.field(name="from")
    to: date


Difference = Annotated[float | None, _doc("b - a of the two NPS values as shown, in points")]
AdjustedDifference = Annotated[
    float | None,
    _doc(
        "NPS'b - NPS'a of the adjusted-Wald estimates (n + 3 answers, ¾ added to promoters "
        "and to detractors): the centre of `difference_ci95` and the numerator of `z`"
    ),
]
StandardError = Annotated[
    float | None, _doc("√(se_a² + se_b²) of the two adjusted-Wald estimates, in points")
]
Z = Annotated[float | None, _doc("`adjusted_difference` / `standard_error`")]
PValue = Annotated[float | None, _doc("two-sided, from the normal distribution of `z`")]


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """Against the last earlier point that had answers (adjusted-Wald test, alpha 0.05)."""

    compared_with: Annotated[
        date,
        _doc(
            "`start` of the point this one is compared with: the last earlier point with "
            "answers (empty points in between are skipped)"
        ),
    ]
    difference: Difference
    p_value: PValue
    significant: Annotated[bool | None, _doc("`p_value` < 0.05")]


class VsRest(msgspec.Struct, frozen=True, kw_only=True):
    """This value against all other answers of the filter; one rule (Holm) for `significant`
    and `flag`, and the interval agrees with both."""

    difference: Annotated[
        float | None, _doc("this value's NPS minus the NPS of all other answers, in points")
    ]
    adjusted_difference: AdjustedDifference
    standard_error: StandardError
    difference_ci95: Annotated[
        Ci95 | None,
        _doc(
            "`adjusted_difference` ± z·`standard_error` at `ci_level_pct` (the level of the "
            "Holm step that tested this value), within [-200, 200]: excludes 0 exactly when "
            "`significant`"
        ),
    ]
    ci_level_pct: Annotated[
        float | None,
        _doc("percentage (0-100): the confidence level of `difference_ci95`, e.g. 98.75"),
    ]
    z: Z
    p_value: Annotated[float | None, _doc("two-sided p of `z`, before adjustment")]
    p_value_adjusted: Annotated[
        float | None, _doc("Holm-Bonferroni adjusted over the values of this breakdown")
    ]
    significant: Annotated[
        bool | None,
        _doc("`p_value_adjusted` < 0.05, the rule of `flag`; null when there is no rest"),
    ]
    flag: Literal["below", "above", "in_line"]


class BreakdownGroup(Figures, frozen=True, kw_only=True):
    value: str
    vs_rest: VsRest | None = None


class Breakdown(msgspec.Struct, frozen=True, kw_only=True):
    dimension: str
    from_: date = msgspec.field(name="from")
    to: date
    groups: list[BreakdownGroup]


class TrendPoint(Figures, frozen=True, kw_only=True):
    start: date
    end: date
    change: Change | None = None


class CompareResult(msgspec.Struct, frozen=True, kw_only=True):
    a: NpsResult
    b: NpsResult
    difference: Difference
    adjusted_difference: AdjustedDifference
    standard_error: StandardError
    difference_ci95: Annotated[
        Ci95 | None,
        _doc(
            "95 % interval of the difference: `adjusted_difference` ± 1.959964·"
            "`standard_error`, within [-200, 200]; excludes 0 exactly when `significant`"
        ),
    ]
    z: Z
    p_value: PValue
    significant: Annotated[
        bool | None,
        _doc("`p_value` < 0.05, i.e. `difference_ci95` excludes 0; null when a side is empty"),
    ]
    method: Literal["adjusted-wald"]
    assumption: str


class SampleSize(msgspec.Struct, frozen=True, kw_only=True):
    margin: Annotated[float, _doc("the margin asked for, in points")]
    needed: Annotated[
        int,
        _doc(
            "smallest number of answers whose 95 % adjusted-Wald margin_of_error is at most "
            "`margin`, given the distribution of the 30 days `from`..`to`"
        ),
    ]
    answers_last_30_days: Annotated[
        int, _doc("answers of the scope counted on the 30 local days `from`..`to`")
    ]
    more_needed: Annotated[int, _doc("`needed` - `answers_last_30_days`, at least 0")]
    assumption: str
    from_: Annotated[
        date, _doc("first of the 30 days: 29 days before today, in the tenant's zone")
    ] = msgspec.field(name="from")
    to: Annotated[date, _doc("today in the tenant's zone (included)")]


class Annotation(msgspec.Struct, frozen=True, kw_only=True):
    """A recorded change effective in the trend's range whose scope shares answers with the
    trend's (for marking charts): see the README's rule."""

    change_id: UUID
    title: str
    effective_on: date
    survey_id: Annotated[UUID | None, _doc("the change's survey; null: all surveys")]
    segment: Annotated[
        str | None, _doc("the change's segment (`dimension:value`); null: all answers")
    ]


class Trend(msgspec.Struct, frozen=True, kw_only=True):
    interval: TrendInterval
    from_: date = msgspec.field(name="from")
    to: date
    points: list[TrendPoint]
    annotations: list[Annotation] = []


def figures(s: NpsSummary, verdict: TargetVerdict | None = None) -> dict[str, object]:
    targets: dict[str, object] = {}
    if verdict is not None:
        targets = {"target": verdict.target, "gap": verdict.gap, "target_met": verdict.target_met}
    return targets | {
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


def nps_result(
    s: NpsSummary, start: date, end: date, verdict: TargetVerdict | None = None
) -> NpsResult:
    return NpsResult(**figures(s, verdict), from_=start, to=end)  # type: ignore[arg-type]


def _ci(i: Interval | None) -> Ci95 | None:
    return Ci95(low=i.low, high=i.high) if i else None


def breakdown_group(
    g: Group, rest: results.VsRest | None = None, verdict: TargetVerdict | None = None
) -> BreakdownGroup:
    vs = None
    if rest is not None:
        c = rest.comparison
        vs = VsRest(
            difference=c.difference,
            adjusted_difference=c.adjusted_difference,
            standard_error=c.standard_error,
            difference_ci95=_ci(c.difference_ci95),
            ci_level_pct=rest.ci_level_pct,
            z=c.z,
            p_value=c.p_value,
            p_value_adjusted=rest.p_value_adjusted,
            significant=c.significant,
            flag=rest.flag,
        )
    return BreakdownGroup(**figures(g.summary, verdict), value=g.value, vs_rest=vs)  # type: ignore[arg-type]


def trend_point(
    p: Point, change: results.Change | None = None, verdict: TargetVerdict | None = None
) -> TrendPoint:
    out = None
    if change is not None:
        out = Change(
            compared_with=change.compared_with,
            difference=change.difference,
            p_value=change.p_value,
            significant=change.significant,
        )
    return TrendPoint(**figures(p.summary, verdict), start=p.start, end=p.end, change=out)  # type: ignore[arg-type]


def compare_result(
    a: NpsSummary, b: NpsSummary, c: Comparison, periods: tuple[tuple[date, date], ...]
) -> CompareResult:
    (a_start, a_end), (b_start, b_end) = periods
    return CompareResult(
        a=nps_result(a, a_start, a_end),
        b=nps_result(b, b_start, b_end),
        difference=c.difference,
        adjusted_difference=c.adjusted_difference,
        standard_error=c.standard_error,
        difference_ci95=_ci(c.difference_ci95),
        z=c.z,
        p_value=c.p_value,
        significant=c.significant,
        method=c.method,
        assumption=c.assumption,
    )


def annotation(c: ChangeRecord) -> Annotation:
    return Annotation(
        change_id=c.id,
        title=c.title,
        effective_on=c.effective_on,
        survey_id=c.survey_id,
        segment=f"{c.segment.dimension}:{c.segment.value}" if c.segment else None,
    )
