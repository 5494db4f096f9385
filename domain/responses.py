"""Use-cases of answers: validate, classify and hand them to the ingest port."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec

from domain.errors import InvalidInput
from domain.idempotency import IdempotencyClaim, IdempotencyKey, Recorded
from domain.model import Page, Principal, SurveyResponse
from domain.outcomes import (
    batch_outcome,
    error_of,
    invalid_item,
    response_outcome,
)
from domain.periods import local_date
from domain.ports import Ingestor, ResponseFilter, UnitOfWorkFactory

MAX_FUTURE = timedelta(minutes=5)
# No NPS answer predates the method (2003); earlier dates are typos or zero values, and
# year 1 has no local date in zones west of UTC.
EARLIEST_ANSWER = datetime(2000, 1, 1, tzinfo=UTC)


class NewResponse(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    survey_id: UUID
    score: int
    comment: str | None = None
    customer_id: str | None = None
    segments: dict[str, str] = {}
    answered_at: datetime | None = None
    locale: str | None = None
    external_id: str | None = None


def new_response_id(now: datetime) -> UUID:
    """A UUIDv7 (RFC 9562): the instant's Unix milliseconds, then 74 random bits.

    A tenant's answers get nearly ascending ids, so the (tenant_id, id) index grows at its
    right edge instead of splitting pages all over. The ids identify, they guard nothing
    (every read is scoped by the caller's tenant), so the random module's bits do.
    """
    ms = int(now.timestamp() * 1000) & _MS_MASK
    bits = random.getrandbits(74)
    return UUID(int=ms << 80 | _VERSION_7 | (bits >> 62) << 64 | _VARIANT | bits & _RAND_B)


_MS_MASK, _RAND_B = (1 << 48) - 1, (1 << 62) - 1
_VERSION_7, _VARIANT = 0x7 << 76, 0b10 << 62


def build_response(cmd: NewResponse, *, principal: Principal, now: datetime) -> SurveyResponse:
    """The answer to store; rejects answers dated before 2000 or more than 5 minutes ahead."""
    answered_at = cmd.answered_at or now
    if answered_at - now > MAX_FUTURE:
        raise InvalidInput.field("answered_at", "must not be more than 5 minutes in the future")
    if answered_at < EARLIEST_ANSWER:
        raise InvalidInput.field("answered_at", "must not be before 2000-01-01T00:00:00Z")
    return SurveyResponse(
        id=new_response_id(now),
        tenant_id=principal.tenant_id,
        survey_id=cmd.survey_id,
        score=cmd.score,
        comment=cmd.comment,
        customer_id=cmd.customer_id,
        segments=dict(cmd.segments),
        answered_at=answered_at,
        received_at=now,
        local_date=local_date(answered_at, principal.timezone),
        locale=cmd.locale,
        external_id=cmd.external_id,
    )


async def record_response(
    answer: SurveyResponse,
    *,
    principal: Principal,
    ingestor: Ingestor,
    idempotency: IdempotencyKey | None = None,
) -> Recorded:
    """Store one answer; raises the domain error of an answer not stored (then nothing is
    recorded for its key)."""
    claim = None
    if idempotency is not None:
        claim = IdempotencyClaim(key=idempotency.key, request_hash=idempotency.request_hash)
    got = await ingestor.ingest(principal.tenant_id, [answer], idempotency=claim)
    if isinstance(got, Recorded):
        return got
    (result,) = got
    error = error_of(result)
    if error is not None:
        raise error
    outcome = response_outcome(result)
    assert outcome is not None  # a result without an error has its answer
    return Recorded(outcome=outcome)


async def record_batch(
    answers: Sequence[SurveyResponse],
    *,
    rejected: Mapping[int, InvalidInput],
    principal: Principal,
    ingestor: Ingestor,
    idempotency: IdempotencyKey | None = None,
) -> Recorded:
    """Store a batch's valid answers; `rejected` are its invalid items, by position (the
    answers fill the other positions in order). Every item gets its outcome."""
    items = {i: invalid_item(error) for i, error in rejected.items()}
    claim = None
    if idempotency is not None:
        claim = IdempotencyClaim(
            key=idempotency.key, request_hash=idempotency.request_hash, batch=True, rejected=items
        )
    got = await ingestor.ingest(principal.tenant_id, answers, idempotency=claim)
    if isinstance(got, Recorded):
        return got
    return Recorded(outcome=batch_outcome(items, got))


async def set_response_excluded(
    *,
    tenant_id: UUID,
    response_id: UUID,
    excluded: bool,
    reason: str | None,
    ingestor: Ingestor,
) -> SurveyResponse:
    """Exclude an answer from every calculation (or include it again); it stays stored and
    its counters change through the outbox, like a new answer's."""
    return await ingestor.set_excluded(tenant_id, response_id, excluded=excluded, reason=reason)


async def get_response(
    *, tenant_id: UUID, response_id: UUID, uow: UnitOfWorkFactory
) -> SurveyResponse:
    async with uow(tenant_id) as tx:
        return await tx.responses.get(tenant_id=tenant_id, response_id=response_id)


async def list_responses(
    flt: ResponseFilter, *, limit: int, cursor: str | None, uow: UnitOfWorkFactory
) -> Page[SurveyResponse]:
    async with uow(flt.tenant_id) as tx:
        return await tx.responses.list(flt, limit=limit, cursor=cursor)
