"""Comment themes: the log-odds z-scores against an independent implementation, selection."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from uuid import uuid4

import pytest

from domain.nps import histogram_of, summarize
from domain.themes import ThemeComment, describe, dirichlet_prior, log_odds_z, score_terms

# A fixed corpus: (side, terms of one comment).
CORPUS = [
    ("a", ("wait", "support", "wait time")),
    ("a", ("wait", "phone", "rude")),
    ("a", ("wait", "support")),
    ("a", ("price", "expensive")),
    ("a", ("rude", "staff")),
    ("b", ("friendly", "staff")),
    ("b", ("fast", "delivery", "fast delivery")),
    ("b", ("friendly", "support")),
    ("b", ("fast", "friendly")),
    ("b", ("price", "fair")),
    ("b", ("delivery",)),
] * 4
PRIOR = [terms for _side, terms in CORPUS] + [("wait",), ("delivery", "late"), ("staff",)]


def _independent_z(term: str) -> float:
    """MCQ 2008 eq. 16-22 written out from the raw corpus, with exact fractions for the prior."""
    ya = sum(term in t for s, t in CORPUS if s == "a")
    yb = sum(term in t for s, t in CORPUS if s == "b")
    na = sum(len(t) for s, t in CORPUS if s == "a")
    nb = sum(len(t) for s, t in CORPUS if s == "b")
    vocab = {w for _s, t in CORPUS for w in t} | {w for t in PRIOR for w in t}
    prior_total = sum(len(t) for t in PRIOR)
    cw = sum(term in t for t in PRIOR)
    alpha0 = Fraction(na + nb) / 10
    aw = alpha0 * (cw + Fraction(1, 2)) / (prior_total + Fraction(len(vocab), 2))
    omega_a = (ya + aw) / (na + alpha0 - ya - aw)
    omega_b = (yb + aw) / (nb + alpha0 - yb - aw)
    delta = math.log(omega_a) - math.log(omega_b)
    variance = 1 / (ya + aw) + 1 / (yb + aw)
    return delta / math.sqrt(float(variance))


def _comments() -> list[ThemeComment]:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    return [
        ThemeComment(
            response_id=uuid4(),
            score=2 if side == "a" else 10,
            answered_at=now - timedelta(hours=i),
            comment=" ".join(terms),
            terms=terms,
            side=side,
        )
        for i, (side, terms) in enumerate(CORPUS)
    ]


def test_z_scores_match_an_independent_implementation_to_1e_9() -> None:
    from collections import Counter

    a = Counter(w for s, t in CORPUS if s == "a" for w in t)
    b = Counter(w for s, t in CORPUS if s == "b" for w in t)
    prior = Counter(w for t in PRIOR for w in t)
    alpha0 = 0.1 * (sum(a.values()) + sum(b.values()))
    alpha = dirichlet_prior(prior, a.keys() | b.keys(), alpha0=alpha0)
    scores = log_odds_z(a, b, alpha, terms=sorted(a.keys() | b.keys()))
    assert len(scores) == 13
    for s in scores:
        assert abs(s.z - _independent_z(s.term)) < 1e-9, s.term
    by_term = {s.term: s.z for s in scores}
    assert by_term["wait"] > 0 > by_term["friendly"]


def test_themes_are_the_terms_past_the_critical_z_with_enough_comments() -> None:
    scored = score_terms(_comments(), PRIOR, min_comments=3, limit=10)
    assert [s.term for s in scored.a_themes] == ["wait", "rude"]
    assert [s.term for s in scored.b_themes] == ["friendly", "delivery", "fast"]
    assert all(s.z >= 1.96 for s in scored.a_themes)
    assert all(s.z <= -1.96 for s in scored.b_themes)
    often = score_terms(_comments(), PRIOR, min_comments=9, limit=10)
    assert [s.term for s in often.a_themes] == ["wait"]
    assert [s.term for s in score_terms(_comments(), PRIOR, min_comments=3, limit=1).b_themes] == [
        "friendly"
    ]
    assert scored.a_themes[0].a == 12 and scored.a_themes[0].b == 0
    assert not score_terms(_comments(), PRIOR, min_comments=13, limit=10).a_themes


def test_theme_reports_share_nps_with_and_without_and_newest_examples_of_its_side() -> None:
    comments = _comments()
    scored = score_terms(comments, PRIOR, min_comments=3, limit=10)
    theme = describe(scored.a_themes, "a", comments)[0]
    assert theme.term == "wait"
    assert theme.share_pct == pytest.approx(100 * 12 / 44)
    assert theme.with_term == summarize(histogram_of([2] * 12))
    assert theme.without_term == summarize(histogram_of([2] * 8 + [10] * 24))
    assert [c.comment for c in theme.examples] == [
        "wait support wait time",
        "wait phone rude",
        "wait support",
    ]
    assert theme.examples[0].answered_at > theme.examples[1].answered_at


def test_no_comments_give_no_themes() -> None:
    scored = score_terms([], [], min_comments=1, limit=10)
    assert scored.a_themes == [] and scored.b_themes == []
