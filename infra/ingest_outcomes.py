"""What each submission of a group commit is answered: its Idempotency-Key claim as the
request expects it, then its results, a replay of the earlier request, or the key's error."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from uuid import UUID

import asyncpg
import msgspec

from domain.errors import Conflict, IdempotencyMismatch
from domain.idempotency import Recorded
from domain.model import Response
from domain.responses import IdempotencyCompletion, Ingested, IngestResult, Outcome
from infra.postgres import idempotency
from infra.postgres.ingest_sql import Claim, ClaimState, resolve_not_created

STILL_RUNNING = "a request with this Idempotency-Key is still being processed; retry later"


class Submission(msgspec.Struct, kw_only=True):
    tenant_id: UUID
    responses: Sequence[Response]
    idempotency: IdempotencyCompletion | None
    future: asyncio.Future[Ingested]
    deadline: float = 0.0  # loop time after which it is no longer written (answered 503)


def expected_claims(batch: list[Submission]) -> list[Claim]:
    """Each key with the answer its request gets when every answer is stored now."""
    claims = []
    last = 0
    for sub in batch:
        first, last = last + 1, last + len(sub.responses)
        if sub.idempotency is None:
            continue
        expected = [IngestResult(outcome=Outcome.CREATED, response=r) for r in sub.responses]
        rendered = sub.idempotency.render(expected)
        assert rendered is not None  # stored answers always render
        claims.append(
            Claim(
                tenant_id=sub.tenant_id,
                key=sub.idempotency.key,
                request_hash=sub.idempotency.request_hash,
                status_code=rendered[0],
                body=rendered[1],
                first=first,
                last=last,
            )
        )
    return claims


async def answers_of(
    conn: asyncpg.Connection,
    batch: list[Submission],
    expected: list[Claim],
    claims: dict[tuple[UUID, str], ClaimState],
    created: set[UUID] | None,
) -> list[Ingested | Exception]:
    """What each submission is answered: its results, the answer recorded for its key (now
    or before), or the error of its key."""
    answers: list[Ingested | Exception | None] = [None] * len(batch)
    taken, run = [], []
    for i, sub in enumerate(batch):
        state = claims.get((sub.tenant_id, sub.idempotency.key)) if sub.idempotency else None
        if state is ClaimState.BUSY:
            answers[i] = Conflict(STILL_RUNNING)
        elif state is ClaimState.TAKEN:
            taken.append(i)
        else:
            run.append(i)
    if taken:
        keys = [_key(batch[i]) for i in taken]
        recorded = await idempotency.stored(conn, keys)
        for i, key in zip(taken, keys, strict=True):
            answers[i] = _replay(batch[i], recorded.get(key))
    responses = [r for i in run for r in batch[i].responses]
    results = await _results(conn, responses, created)
    recorded_now = {(c.tenant_id, c.key): c for c in expected}
    corrections = []
    start = 0
    for i in run:
        sub = batch[i]
        answers[i] = mine = results[start : start + len(sub.responses)]
        start += len(sub.responses)
        if sub.idempotency is None:
            continue
        if all(r.outcome is Outcome.CREATED for r in mine):  # recorded as expected
            claim = recorded_now[_key(sub)]
            answers[i] = Recorded(status_code=claim.status_code, body=claim.body, replayed=False)
            continue
        final = sub.idempotency.render(mine)
        corrections.append((*_key(sub), final))
        if final is not None:  # else the key is forgotten and the results tell why
            answers[i] = Recorded(status_code=final[0], body=final[1], replayed=False)
    await idempotency.correct(conn, corrections)
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def _key(sub: Submission) -> tuple[UUID, str]:
    assert sub.idempotency is not None
    return sub.tenant_id, sub.idempotency.key


def _replay(sub: Submission, recorded: tuple[bytes, Recorded] | None) -> Ingested | Exception:
    assert sub.idempotency is not None
    if recorded is None:  # forgotten meanwhile (purged): the client may simply retry
        return Conflict(STILL_RUNNING)
    request_hash, replay = recorded
    if request_hash != sub.idempotency.request_hash:
        return IdempotencyMismatch("this Idempotency-Key was used with another request body")
    return replay


async def _results(
    conn: asyncpg.Connection, responses: list[Response], created: set[UUID] | None
) -> list[IngestResult]:
    if created is None:
        return [IngestResult(outcome=Outcome.CREATED, response=r) for r in responses]
    missing = [i for i, r in enumerate(responses) if r.id not in created]
    resolved = await resolve_not_created(conn, [responses[i] for i in missing]) if missing else []
    results = [
        IngestResult(outcome=Outcome.CREATED, response=r) if r.id in created else None
        for r in responses
    ]
    for i, result in zip(missing, resolved, strict=True):
        results[i] = result
    return [r for r in results if r is not None]
