"""The huddle digest on the wire (JSON); Markdown and HTML render the same structure."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec

from api.schemas.followups import CaseStatsOut, stats_out
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
    flag: str  # "below" | "above"


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
