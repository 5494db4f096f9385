"""Comment themes on the wire."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec

from api.schemas.results import Figures, figures
from domain.insights import MAX_COMMENTS, Themes, ThemesQuery, ThemesVs
from domain.themes import Theme, ThemeComment

METHOD = (
    "weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn "
    "2008); counts are comments; |z| >= 1.96"
)


class Example(msgspec.Struct, frozen=True, kw_only=True):
    response_id: UUID
    score: int
    answered_at: datetime
    comment: str


class ThemeOut(msgspec.Struct, frozen=True, kw_only=True):
    term: str
    z: float
    a_comments: int
    b_comments: int
    share_pct: Annotated[
        float,
        msgspec.Meta(
            description="percentage (0-100) of all analysed comments (passives included) "
            "that mention the term"
        ),
    ]
    nps_with: Figures
    nps_without: Figures
    examples: list[Example]


class Side(msgspec.Struct, frozen=True, kw_only=True):
    label: str
    comments: int
    themes: list[ThemeOut]


class CommentsUsed(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    used: int
    capped: bool
    cap: int


class Prior(msgspec.Struct, frozen=True, kw_only=True):
    from_: date = msgspec.field(name="from")
    to: date
    comments: int


class ThemesOut(msgspec.Struct, frozen=True, kw_only=True):
    from_: date = msgspec.field(name="from")
    to: date
    vs: ThemesVs
    segment: list[str]
    a: Side
    b: Side
    comments: CommentsUsed
    languages: dict[str, int]
    prior: Prior
    method: str = METHOD


def _example(c: ThemeComment) -> Example:
    return Example(
        response_id=c.response_id, score=c.score, answered_at=c.answered_at, comment=c.comment
    )


def _theme(t: Theme) -> ThemeOut:
    return ThemeOut(
        term=t.term,
        z=t.z,
        a_comments=t.a_comments,
        b_comments=t.b_comments,
        share_pct=t.share_pct,
        nps_with=Figures(**figures(t.with_term)),  # type: ignore[arg-type]
        nps_without=Figures(**figures(t.without_term)),  # type: ignore[arg-type]
        examples=[_example(c) for c in t.examples],
    )


def themes_out(tq: ThemesQuery, t: Themes) -> ThemesOut:
    segment = [f"{f.dimension}:{f.value}" for f in tq.query.segments]
    if tq.vs is ThemesVs.REST:
        labels = (f"detractors of {', '.join(segment)}", "detractors of the rest")
    else:
        labels = ("detractors", "promoters")
    return ThemesOut(
        from_=tq.query.start,
        to=tq.query.end,
        vs=tq.vs,
        segment=segment,
        a=Side(label=labels[0], comments=t.a_comments, themes=[_theme(x) for x in t.a_themes]),
        b=Side(label=labels[1], comments=t.b_comments, themes=[_theme(x) for x in t.b_themes]),
        comments=CommentsUsed(
            total=t.comments_total, used=t.comments_used, capped=t.capped, cap=MAX_COMMENTS
        ),
        languages=t.languages,
        prior=Prior(from_=t.prior_start, to=t.prior_end, comments=t.prior_comments),
    )
