"""Use-case of the answer export: every matching answer, streamed in one unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator

from domain.model import SurveyResponse
from domain.ports import ResponseFilter, UnitOfWorkFactory


async def export_responses(
    flt: ResponseFilter, *, uow: UnitOfWorkFactory
) -> AsyncIterator[SurveyResponse]:
    """Oldest first; the unit of work stays open while the export streams (it ends, rolled
    back, when the client goes away) and its transaction holds the cursor."""
    async with uow(flt.tenant_id) as tx:
        async for answer in tx.responses.stream(flt):
            yield answer
