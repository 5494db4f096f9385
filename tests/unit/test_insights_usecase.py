"""Comment themes: read in one unit of work of the tenant, analysed after it has ended."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from domain import responses
from domain.errors import InvalidInput
from domain.insights import ThemesQuery, ThemesVs, comment_themes
from domain.model import Principal, ResultQuery, Scope
from domain.responses import NewResponse
from tests.unit.fakes import FakeStore, FakeUnitOfWorkFactory

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TENANT = uuid.uuid4()
QUERY = ResultQuery(tenant_id=TENANT, survey_id=None, start=NOW.date(), end=NOW.date())


class WordAnalyzer:
    """Splits on blanks; checks that no unit of work is open while it runs."""

    def __init__(self, uow: FakeUnitOfWorkFactory) -> None:
        self.uow = uow
        self.calls = 0

    def terms(self, text: str) -> tuple[str, tuple[str, ...]]:
        assert all(u.ended for u in self.uow.units), "analysed inside a transaction"
        self.calls += 1
        return "en", tuple(sorted(set(text.lower().split())))


def _answer(store: FakeStore, score: int, comment: str) -> None:
    principal = Principal(tenant_id=TENANT, key_id=TENANT, scopes=frozenset(Scope), timezone="UTC")
    cmd = NewResponse(survey_id=uuid.uuid4(), score=score, comment=comment, answered_at=NOW)
    store.responses.append(responses.build_response(cmd, principal=principal, now=NOW))


async def test_themes_read_in_one_unit_of_work_then_analyse_outside_it() -> None:
    store = FakeStore()
    for _ in range(3):
        _answer(store, 2, "slow support")
        _answer(store, 10, "friendly staff")
    uow = FakeUnitOfWorkFactory(store)
    analyzer = WordAnalyzer(uow)
    found = await comment_themes(ThemesQuery(query=QUERY), uow=uow, analyzer=analyzer)
    assert (found.a_comments, found.b_comments, found.comments_total) == (3, 3, 6)
    assert uow.opened == [TENANT] and analyzer.calls == 6


async def test_rest_without_a_segment_is_refused_before_any_transaction() -> None:
    uow = FakeUnitOfWorkFactory(FakeStore())
    with pytest.raises(InvalidInput):
        await comment_themes(
            ThemesQuery(query=QUERY, vs=ThemesVs.REST), uow=uow, analyzer=WordAnalyzer(uow)
        )
    assert uow.opened == []
