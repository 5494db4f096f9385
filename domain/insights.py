"""Use-case: the themes of a period's comments (what detractors say that promoters do not)."""

from __future__ import annotations

import asyncio
import enum
from collections import Counter
from datetime import date, datetime, timedelta
from uuid import UUID

import msgspec

from domain.errors import InvalidInput
from domain.model import ResultQuery, SegmentFilter
from domain.nps import Category, classify
from domain.ports import CommentAnalyzer, UnitOfWorkFactory
from domain.themes import Theme, ThemeComment, describe, score_terms

MAX_COMMENTS = 50_000  # newest comments of the period analysed; the answer says when capped
NEWEST = 5
PRIOR_DAYS = 365  # the prior: the tenant's comments of the 365 days up to `to`:
PRIOR_MAX_COMMENTS = 50_000  # the analysed ones, and the newest others up to this many in all


class ThemesVs(enum.StrEnum):
    PROMOTERS = "promoters"  # detractors' comments against promoters'
    REST = "rest"  # the segment's detractors against every other detractor


class CommentRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    response_id: UUID
    score: int
    answered_at: datetime
    comment: str
    marked: bool  # carries every segment of the `marked` filters


class ThemesQuery(msgspec.Struct, frozen=True, kw_only=True):
    query: ResultQuery
    vs: ThemesVs = ThemesVs.PROMOTERS
    limit: int = 10
    min_comments: int = 3


class Themes(msgspec.Struct, frozen=True, kw_only=True):
    comments_total: int
    comments_used: int  # the newest MAX_COMMENTS when capped
    capped: bool
    prior_start: date
    prior_end: date
    prior_comments: int
    a_comments: int
    b_comments: int
    languages: dict[str, int]
    a_themes: list[Theme]
    b_themes: list[Theme]
    newest_a: list[ThemeComment]  # the newest NEWEST comments of each side
    newest_b: list[ThemeComment]


_PROMOTERS_VS = {Category.DETRACTOR: "a", Category.PROMOTER: "b", Category.PASSIVE: None}
_SIDE_BY_SCORE = [_PROMOTERS_VS[classify(score)] for score in range(11)]


def _side(row: CommentRow, tq: ThemesQuery) -> str | None:
    if tq.vs is ThemesVs.PROMOTERS:
        return _SIDE_BY_SCORE[row.score]
    if classify(row.score) is not Category.DETRACTOR:  # only detractors meet the rest
        return None
    return "a" if row.marked else "b"


async def comment_themes(
    tq: ThemesQuery, *, uow: UnitOfWorkFactory, analyzer: CommentAnalyzer
) -> Themes:
    """Reads the comments in one unit of work, then analyses them after it has ended."""
    if tq.vs is ThemesVs.REST and not tq.query.segments:
        raise InvalidInput.field("segment", "vs=rest needs the segment to compare with the rest")
    fetch, marked = tq.query, tuple[SegmentFilter, ...]()
    if tq.vs is ThemesVs.REST:  # both sides come from the whole filter but the segment
        fetch, marked = msgspec.structs.replace(tq.query, segments=()), tq.query.segments
    prior_start = tq.query.end - timedelta(days=PRIOR_DAYS - 1)
    async with uow(tq.query.tenant_id) as tx:
        rows, total = await tx.comments.comments(fetch, cap=MAX_COMMENTS, marked=marked)
        others = await tx.comments.others(
            fetch, start=min(prior_start, fetch.start), cap=PRIOR_MAX_COMMENTS - len(rows)
        )
    # Tokenising is CPU work of up to a second: a worker thread keeps the event loop serving.
    return await asyncio.to_thread(_analyse, tq, rows, total, others, prior_start, analyzer)


def _analyse(
    tq: ThemesQuery,
    rows: list[CommentRow],
    total: int,
    others: list[str],
    prior_start: date,
    analyzer: CommentAnalyzer,
) -> Themes:
    languages: Counter[str] = Counter()
    analysed: list[ThemeComment] = []
    for row in rows:
        language, terms = analyzer.terms(row.comment)
        languages[language] += 1
        analysed.append(
            ThemeComment(
                response_id=row.response_id,
                score=row.score,
                answered_at=row.answered_at,
                comment=row.comment,
                terms=terms,
                side=_side(row, tq),
            )
        )
    prior_terms = [c.terms for c in analysed] + [analyzer.terms(text)[1] for text in others]
    scored = score_terms(analysed, prior_terms, min_comments=tq.min_comments, limit=tq.limit)
    return Themes(
        comments_total=total,
        comments_used=len(rows),
        capped=total > len(rows),
        prior_start=prior_start,
        prior_end=tq.query.end,
        prior_comments=len(prior_terms),
        a_comments=sum(c.side == "a" for c in analysed),
        b_comments=sum(c.side == "b" for c in analysed),
        languages=dict(languages),
        a_themes=describe(scored.a_themes, "a", analysed),
        b_themes=describe(scored.b_themes, "b", analysed),
        newest_a=[c for c in analysed if c.side == "a"][:NEWEST],
        newest_b=[c for c in analysed if c.side == "b"][:NEWEST],
    )
