"""The huddle digest on the wire (JSON); Markdown and HTML render the same structure."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from api.schemas.followups import CaseStatsOut, RecoveryOut, stats_out
from api.schemas.results import Ci95, Figures, figures
from domain.decisions import Decision
from domain.digest import Digest, DigestPeriod
from domain.themes import Theme, ThemeComment


class PeriodFigures(Figures, frozen=True, kw_only=True):
    from_: date = msgspec.field(name="from")
    to: date


class PeriodChange(msgspec.Struct, frozen=True, kw_only=True):
    """This period against the previous one (adjusted-Wald test, alpha 0.05)."""

    difference: float | None
    difference_ci95: Ci95 | None
    p_value: float | None
    significant: bool | None


class FlaggedSegmentOut(msgspec.Struct, frozen=True, kw_only=True):
    dimension: str
    value: str
    nps: float | None
    total: int
    ci95: Ci95 | None
    difference: float | None  # against the rest of the period's answers
    p_value_adjusted: float | None  # Holm, over the dimension's values
    flag: Literal["below", "above"]


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    response_id: UUID
    score: int
    answered_at: datetime
    comment: str


class ThemeBrief(msgspec.Struct, frozen=True, kw_only=True):
    term: str
    z: float
    comments: int  # of its side mentioning it
    quote: Quote | None


class Themes(msgspec.Struct, frozen=True, kw_only=True):
    detractors: list[ThemeBrief]
    promoters: list[ThemeBrief]


class ChangeBrief(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    title: str
    effective_on: date
    segment: str | None
    decision: Decision
    difference: float | None
    p_value: float | None


class HistoryPoint(msgspec.Struct, frozen=True, kw_only=True):
    from_: date = msgspec.field(name="from")
    to: date
    nps: float | None
    total: int
    ci95: Ci95 | None


class DigestOut(msgspec.Struct, frozen=True, kw_only=True):
    period: DigestPeriod
    from_: date = msgspec.field(name="from")
    to: date
    nps: PeriodFigures  # with the target verdict when the tenant has a target
    previous: PeriodFigures
    change: PeriodChange
    dimensions: list[str]
    flagged_segments: list[FlaggedSegmentOut]
    themes: Themes
    detractor_comments: list[Quote]  # newest first
    promoter_comments: list[Quote]  # newest first: praise to share with the team
    followups: CaseStatsOut
    changes: list[ChangeBrief]  # effective in the 90 days up to `to`, with their impact
    history: list[HistoryPoint]  # the last 12 periods, oldest first, this one last


def example_digest() -> DigestOut:
    """A small digest for the spec's `digest.ready` example."""
    week = (date(2026, 11, 23), date(2026, 11, 29))
    hist = [3, 1, 2, 2, 1, 3, 2, 7, 9, 10, 10]
    figures_: dict[str, Any] = {
        "nps": 12.0,
        "total": 50,
        "promoters": 20,
        "passives": 16,
        "detractors": 14,
        "promoters_pct": 40.0,
        "passives_pct": 32.0,
        "detractors_pct": 28.0,
        "mean_score": 7.3,
        "histogram": hist,
        "margin_of_error": 22.4,
        "ci95": Ci95(low=-10.2, high=34.6),
    }
    quote_ = Quote(
        response_id=UUID("c4f1a2b3-d5e6-4f70-8a9b-0c1d2e3f4a5b"),
        score=3,
        answered_at=datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
        comment="Die Wartezeit an der Hotline war viel zu lang.",
    )
    return DigestOut(
        period=DigestPeriod.WEEK,
        from_=week[0],
        to=week[1],
        nps=PeriodFigures(
            **figures_, target=30.0, gap=-18.0, target_met="no", from_=week[0], to=week[1]
        ),
        previous=PeriodFigures(**figures_, from_=date(2026, 11, 16), to=date(2026, 11, 22)),
        change=PeriodChange(
            difference=0.0,
            difference_ci95=Ci95(low=-31.1, high=31.1),
            p_value=1.0,
            significant=False,
        ),
        dimensions=["team"],
        flagged_segments=[],
        themes=Themes(
            detractors=[ThemeBrief(term="wartezeit", z=3.2, comments=9, quote=quote_)], promoters=[]
        ),
        detractor_comments=[quote_],
        promoter_comments=[],
        followups=CaseStatsOut(
            from_=week[0],
            to=week[1],
            opened=14,
            open=3,
            in_progress=2,
            overdue=1,
            closed=9,
            median_hours_to_first_contact=4.5,
            median_hours_to_close=20.0,
            recovery=RecoveryOut(
                customers=9,
                answered_again=4,
                promoters=2,
                passives=1,
                detractors=1,
                promoters_pct=50.0,
            ),
        ),
        changes=[],
        history=[
            HistoryPoint(
                from_=week[0], to=week[1], nps=12.0, total=50, ci95=Ci95(low=-10.2, high=34.6)
            )
        ],
    )


def _ci(s: object) -> Ci95 | None:
    ci = getattr(s, "ci95", None)
    return Ci95(low=ci.low, high=ci.high) if ci else None


def quote(c: ThemeComment) -> Quote:
    return Quote(
        response_id=c.response_id, score=c.score, answered_at=c.answered_at, comment=c.comment
    )


def _brief(t: Theme, side: str) -> ThemeBrief:
    return ThemeBrief(
        term=t.term,
        z=t.z,
        comments=t.a_comments if side == "a" else t.b_comments,
        quote=quote(t.examples[0]) if t.examples else None,
    )


def digest_out(d: Digest) -> DigestOut:
    c = d.comparison
    return DigestOut(
        period=d.kind,
        from_=d.start,
        to=d.end,
        nps=PeriodFigures(**figures(d.current, d.target), from_=d.start, to=d.end),  # type: ignore[arg-type]
        previous=PeriodFigures(
            **figures(d.previous),  # type: ignore[arg-type]
            from_=d.previous_start,
            to=d.previous_end,
        ),
        change=PeriodChange(
            difference=c.difference,
            difference_ci95=Ci95(low=c.difference_ci95.low, high=c.difference_ci95.high)
            if c.difference_ci95
            else None,
            p_value=c.p_value,
            significant=c.significant,
        ),
        dimensions=d.dimensions,
        flagged_segments=[
            FlaggedSegmentOut(
                dimension=f.dimension,
                value=f.group.value,
                nps=f.group.summary.nps,
                total=f.group.summary.total,
                ci95=_ci(f.group.summary),
                difference=f.vs_rest.comparison.difference,
                p_value_adjusted=f.vs_rest.p_value_adjusted,
                flag=f.vs_rest.flag,
            )
            for f in d.flagged
        ],
        themes=Themes(
            detractors=[_brief(t, "a") for t in d.themes.a_themes],
            promoters=[_brief(t, "b") for t in d.themes.b_themes],
        ),
        detractor_comments=[quote(x) for x in d.themes.newest_a],
        promoter_comments=[quote(x) for x in d.themes.newest_b],
        followups=stats_out(d.followups),
        changes=[
            ChangeBrief(
                id=ci.change.id,
                title=ci.change.title,
                effective_on=ci.change.effective_on,
                segment=f"{ci.change.segment.dimension}:{ci.change.segment.value}"
                if ci.change.segment
                else None,
                decision=ci.impact.decision,
                difference=ci.impact.comparison.difference,
                p_value=ci.impact.comparison.p_value,
            )
            for ci in d.changes
        ],
        history=[
            HistoryPoint(
                from_=p.start,
                to=p.end,
                nps=p.summary.nps,
                total=p.summary.total,
                ci95=_ci(p.summary),
            )
            for p in d.history
        ],
    )
