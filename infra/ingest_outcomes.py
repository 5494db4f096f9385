"""What each submission of a group commit is answered: its Idempotency-Key claim as the
request expects it, then its results, the outcome recorded for its key (now or by an
earlier request), or the key's error. Outcomes are the domain's (domain.outcomes); nothing
here knows HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from uuid import UUID

import asyncpg
import msgspec

from domain.errors import Conflict, IdempotencyMismatch
from domain.idempotency import IdempotencyClaim, Ingested, Recorded
from domain.model import SurveyResponse
from domain.outcomes import IngestResult, Outcome, RequestOutcome
from infra.postgres import idempotency
from infra.postgres.idempotency import Key
from infra.postgres.ingest_sql import Claim, ClaimState, resolve_not_created

STILL_RUNNING = "a request with this Idempotency-Key is still being processed; retry later"


class Submission(msgspec.Struct, kw_only=True):
    tenant_id: UUID
    responses: Sequence[SurveyResponse]
    idempotency: IdempotencyClaim | None
    future: asyncio.Future[Ingested]
    deadline: float = 0.0  # loop time after which it is no longer written (answered 503)
    expected: RequestOutcome | None = None  # a keyed request's outcome if all is stored now


def expected_claims(batch: list[Submission]) -> list[Claim]:
    """Each key with the outcome its request gets when every answer is stored now (kept in
    `sub.expected`, so that the usual case neither decodes nor encodes it again)."""
    claims = []
    last = 0
    for sub in batch:
        first, last = last + 1, last + len(sub.responses)
        if sub.idempotency is None:
            continue
        created = [IngestResult(outcome=Outcome.CREATED, response=r) for r in sub.responses]
        sub.expected = sub.idempotency.outcome(created)
        assert sub.expected is not None  # answers stored now always make an outcome
        claims.append(
            Claim(
                tenant_id=sub.tenant_id,
                key=sub.idempotency.key,
                request_hash=sub.idempotency.request_hash,
                outcome=idempotency.encode_outcome(sub.expected),
                first=first,
                last=last,
            )
        )
    return claims


async def answers_of(
    conn: asyncpg.Connection,
    batch: list[Submission],
    states: dict[Key, ClaimState],
    created: set[UUID] | None,
) -> list[Ingested | Exception]:
    """What each submission is answered (see `settle`), with the two reads it may need (the
    outcomes recorded before for keys taken, why answers were not stored) and the
    corrections of keys whose answers turned out otherwise than expected."""
    taken = [_key(s) for s in batch if _state(s, states) is ClaimState.TAKEN]
    recorded = await idempotency.stored(conn, taken) if taken else {}
    runs = [r for s in batch if _state(s, states) in _RUNS for r in s.responses]
    results = await _results(conn, runs, created)
    answers, corrections = settle(batch, states, recorded, results)
    if corrections:
        await idempotency.correct(
            conn,
            [
                (t, k, None if o is None else idempotency.encode_outcome(o))
                for t, k, o in corrections
            ],
        )
    return answers


def settle(
    batch: Sequence[Submission],
    states: Mapping[Key, ClaimState],
    recorded: Mapping[Key, tuple[bytes, RequestOutcome]],
    results: list[IngestResult],
) -> tuple[list[Ingested | Exception], list[tuple[UUID, str, RequestOutcome | None]]]:
    """Each submission's answer, and the keys to correct (None: forget the key).

    A key another request holds answers 409; a key recorded before replays its outcome (or
    422 for another request); a submission that ran gets its results (`results`, those of
    every submission that ran, in order), and with a key, the outcome recorded for it: the
    one claimed when every answer was stored as expected, else a corrected one.
    """
    answers: list[Ingested | Exception] = []
    corrections: list[tuple[UUID, str, RequestOutcome | None]] = []
    start = 0
    for sub in batch:
        state = _state(sub, states)
        if state is ClaimState.BUSY:
            answers.append(Conflict(STILL_RUNNING))
            continue
        if state is ClaimState.TAKEN:
            answers.append(_replay(sub, recorded.get(_key(sub))))
            continue
        mine = results[start : start + len(sub.responses)]
        start += len(sub.responses)
        if sub.idempotency is None:
            answers.append(mine)
        elif all(r.outcome is Outcome.CREATED for r in mine):  # recorded as expected
            assert sub.expected is not None
            answers.append(Recorded(outcome=sub.expected))
        else:
            final = sub.idempotency.outcome(mine)
            corrections.append((*_key(sub), final))
            # Without an outcome the key is forgotten, and the results tell why.
            answers.append(mine if final is None else Recorded(outcome=final))
    return answers, corrections


_RUNS = (None, ClaimState.CLAIMED)


def _state(sub: Submission, states: Mapping[Key, ClaimState]) -> ClaimState | None:
    return None if sub.idempotency is None else states.get(_key(sub))


def _key(sub: Submission) -> Key:
    assert sub.idempotency is not None
    return sub.tenant_id, sub.idempotency.key


def _replay(sub: Submission, recorded: tuple[bytes, RequestOutcome] | None) -> Ingested | Exception:
    assert sub.idempotency is not None
    if recorded is None:  # forgotten meanwhile (purged): the client may simply retry
        return Conflict(STILL_RUNNING)
    request_hash, outcome = recorded
    if request_hash != sub.idempotency.request_hash:
        return IdempotencyMismatch("this Idempotency-Key was used with another request body")
    return Recorded(outcome=outcome, replayed=True)


async def _results(
    conn: asyncpg.Connection, responses: list[SurveyResponse], created: set[UUID] | None
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
