"""Ingest outcomes without a database: what each submission is answered, how an outcome is
stored for its Idempotency-Key, and the HTTP answer rendered from it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import msgspec

from api.schemas.responses import response_out
from api.writes import render, render_outcome
from domain.errors import Conflict, FieldError, IdempotencyMismatch, InvalidInput
from domain.idempotency import IdempotencyClaim, Recorded
from domain.model import SurveyResponse
from domain.outcomes import (
    BatchRecorded,
    IngestResult,
    ItemOutcome,
    Outcome,
    ResponseRecorded,
    batch_outcome,
    invalid_item,
)
from infra.ingest_outcomes import STILL_RUNNING, Submission, expected_claims, settle
from infra.postgres.idempotency import decode_outcome, encode_outcome
from infra.postgres.ingest_sql import ClaimState

TENANT = uuid.UUID("00000000-0000-4000-8000-000000000001")
SURVEY = uuid.UUID("00000000-0000-4000-8000-000000000002")
PARIS = timezone(timedelta(hours=2))


def _answer(score: int = 9, **extra: object) -> SurveyResponse:
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "tenant_id": TENANT,
        "survey_id": SURVEY,
        "score": score,
        "comment": "quick — and kind",
        "customer_id": "c-1",
        "segments": {"team": "b", "region": "eu"},
        "answered_at": datetime(2026, 6, 1, 23, 30, 0, 120000, tzinfo=PARIS),
        "received_at": datetime(2026, 6, 1, 21, 31, tzinfo=UTC),
        "local_date": date(2026, 6, 1),
    }
    return SurveyResponse(**(fields | extra))  # type: ignore[arg-type]


def _created(r: SurveyResponse) -> IngestResult:
    return IngestResult(outcome=Outcome.CREATED, response=r)


NOT_FOUND = IngestResult(outcome=Outcome.SURVEY_NOT_FOUND)
ARCHIVED = IngestResult(outcome=Outcome.SURVEY_ARCHIVED)
BAD_SCORE = InvalidInput.field("responses[1].score", "Expected `int` <= 10")


# Rendering: the outcome -> status and body.


def test_an_answer_created_now_renders_201_with_the_answer() -> None:
    r = _answer()
    status, body = render_outcome(ResponseRecorded(outcome=Outcome.CREATED, response=r))
    assert status == 201
    assert body == msgspec.json.encode(response_out(r))
    assert b'"answered_at":"2026-06-01T23:30:00.120000+02:00"' in body


def test_an_answer_stored_before_under_its_external_id_renders_200() -> None:
    r = _answer(external_id="crm-1")
    status, body = render_outcome(ResponseRecorded(outcome=Outcome.EXISTING, response=r))
    assert status == 200 and msgspec.json.decode(body)["external_id"] == "crm-1"


def test_a_batch_whose_items_all_stored_renders_200_with_their_ids() -> None:
    a, b = _answer(), _answer(external_id="x")
    outcome = batch_outcome({}, [_created(a), IngestResult(outcome=Outcome.EXISTING, response=b)])
    status, body = render_outcome(outcome)
    assert status == 200
    assert msgspec.json.decode(body) == {
        "results": [
            {"index": 0, "status": 201, "id": str(a.id)},
            {"index": 1, "status": 200, "id": str(b.id)},
        ]
    }


def test_a_batch_with_failed_items_renders_207_with_a_problem_per_failed_item() -> None:
    a = _answer()
    outcome = batch_outcome({1: invalid_item(BAD_SCORE)}, [_created(a), NOT_FOUND, ARCHIVED])
    status, body = render_outcome(outcome)
    assert status == 207
    results = msgspec.json.decode(body)["results"]
    assert [r["status"] for r in results] == [201, 422, 404, 409]
    assert results[1]["error"] == {
        "type": "urn:nps-api:problem:validation-error",
        "title": "Invalid input",
        "status": 422,
        "detail": "responses[1].score: Expected `int` <= 10",
        "errors": [{"field": "responses[1].score", "message": "Expected `int` <= 10"}],
    }
    assert results[2]["error"] == {
        "type": "urn:nps-api:problem:not-found",
        "title": "Not found",
        "status": 404,
        "detail": "survey not found",
    }
    assert results[3]["error"]["type"] == "urn:nps-api:problem:conflict"
    assert "id" not in results[2] and "error" not in results[0]


def test_a_replay_carries_idempotent_replayed_and_a_first_answer_does_not() -> None:
    outcome = ResponseRecorded(outcome=Outcome.CREATED, response=_answer())
    first, again = (
        render(Recorded(outcome=outcome)),
        render(Recorded(outcome=outcome, replayed=True)),
    )
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.content == again.content and first.status_code == again.status_code == 201


# The stored form of an outcome.


def test_a_stored_answer_outcome_renders_the_first_answer_byte_for_byte() -> None:
    outcome = ResponseRecorded(outcome=Outcome.CREATED, response=_answer())
    stored = decode_outcome(encode_outcome(outcome))
    assert stored == outcome
    assert render_outcome(stored) == render_outcome(outcome)


def test_a_stored_batch_outcome_keeps_every_item_and_renders_the_same_bytes() -> None:
    outcome = batch_outcome(
        {0: invalid_item(BAD_SCORE)},
        [_created(_answer()), NOT_FOUND, ARCHIVED, _created(_answer())],
    )
    stored = decode_outcome(encode_outcome(outcome))
    assert stored == outcome
    assert render_outcome(stored) == render_outcome(outcome)


def test_an_outcome_is_stored_as_json_keeping_the_offset_the_client_wrote() -> None:
    encoded = encode_outcome(ResponseRecorded(outcome=Outcome.CREATED, response=_answer()))
    assert msgspec.json.decode(encoded)["type"] == "answer"
    assert b"+02:00" in encoded  # msgpack would keep the instant but not its offset


# The outcome of a request from its answers' results.


def test_a_batch_outcome_puts_the_rejected_items_at_their_positions() -> None:
    a, b = _answer(), _answer()
    rejected = {0: invalid_item(BAD_SCORE), 2: invalid_item(BAD_SCORE)}
    items = batch_outcome(rejected, [_created(a), NOT_FOUND, _created(b)]).items
    assert [i.outcome for i in items] == [
        Outcome.INVALID,
        Outcome.CREATED,
        Outcome.INVALID,
        Outcome.SURVEY_NOT_FOUND,
        Outcome.CREATED,
    ]
    assert items[1].id == a.id and items[4].id == b.id and items[3].id is None
    assert items[0].errors == [
        FieldError(field="responses[1].score", message="Expected `int` <= 10")
    ]


def test_a_single_answer_not_stored_records_nothing_for_its_key() -> None:
    claim = IdempotencyClaim(key="k", request_hash=b"h")
    assert claim.outcome([NOT_FOUND]) is None
    r = _answer()
    assert claim.outcome([_created(r)]) == ResponseRecorded(outcome=Outcome.CREATED, response=r)


# What each submission of a group commit is answered.


def _sub(
    answers: list[SurveyResponse], key: str | None = None, *, batch: bool = False
) -> Submission:
    claim = None
    if key is not None:
        claim = IdempotencyClaim(key=key, request_hash=b"h-" + key.encode(), batch=batch)
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    return Submission(tenant_id=TENANT, responses=answers, idempotency=claim, future=future)  # type: ignore[arg-type]


async def test_expected_claims_record_the_outcome_of_every_answer_stored_now() -> None:
    a, b, c = _answer(), _answer(), _answer()
    subs = [_sub([a], "one"), _sub([b]), _sub([c], "two", batch=True)]
    claims = expected_claims(subs)
    assert [(x.key, x.first, x.last) for x in claims] == [("one", 1, 1), ("two", 3, 3)]
    assert decode_outcome(claims[0].outcome) == subs[0].expected
    assert subs[0].expected == ResponseRecorded(outcome=Outcome.CREATED, response=a)
    assert subs[2].expected == BatchRecorded(items=[ItemOutcome(outcome=Outcome.CREATED, id=c.id)])
    assert subs[1].expected is None


async def test_settle_answers_each_submission_by_its_key_state() -> None:
    plain, running, done, other, gone = _answer(), _answer(), _answer(), _answer(), _answer()
    subs = [
        _sub([plain]),
        _sub([running], "busy"),
        _sub([done], "done"),
        _sub([other], "other"),
        _sub([gone], "gone"),
    ]
    recorded_before = ResponseRecorded(outcome=Outcome.CREATED, response=done)
    states = {
        (TENANT, "busy"): ClaimState.BUSY,
        (TENANT, "done"): ClaimState.TAKEN,
        (TENANT, "other"): ClaimState.TAKEN,
        (TENANT, "gone"): ClaimState.TAKEN,
    }
    recorded = {
        (TENANT, "done"): (b"h-done", recorded_before),
        (TENANT, "other"): (b"another request", recorded_before),
    }
    answers, corrections = settle(subs, states, recorded, [_created(plain)])
    assert answers[0] == [_created(plain)]
    assert isinstance(answers[1], Conflict) and str(answers[1]) == STILL_RUNNING
    assert answers[2] == Recorded(outcome=recorded_before, replayed=True)
    assert isinstance(answers[3], IdempotencyMismatch)
    assert isinstance(answers[4], Conflict)  # purged meanwhile: a retry runs it again
    assert corrections == []


async def test_settle_keeps_the_claimed_outcome_when_every_answer_was_stored() -> None:
    a, b = _answer(), _answer()
    subs = [_sub([a], "single"), _sub([b], "batch", batch=True)]
    expected_claims(subs)
    states = {(TENANT, "single"): ClaimState.CLAIMED, (TENANT, "batch"): ClaimState.CLAIMED}
    answers, corrections = settle(subs, states, {}, [_created(a), _created(b)])
    assert answers == [Recorded(outcome=subs[0].expected), Recorded(outcome=subs[1].expected)]
    assert corrections == []


async def test_settle_corrects_a_key_whose_answers_turned_out_otherwise() -> None:
    a, known, b = _answer(), _answer(external_id="crm-7"), _answer()
    subs = [_sub([a], "lost"), _sub([known, b], "import", batch=True)]
    expected_claims(subs)
    states = {(TENANT, "lost"): ClaimState.CLAIMED, (TENANT, "import"): ClaimState.CLAIMED}
    existing = IngestResult(outcome=Outcome.EXISTING, response=known)
    answers, corrections = settle(subs, states, {}, [NOT_FOUND, existing, _created(b)])
    corrected = BatchRecorded(
        items=[
            ItemOutcome(outcome=Outcome.EXISTING, id=known.id),
            ItemOutcome(outcome=Outcome.CREATED, id=b.id),
        ]
    )
    assert answers[0] == [NOT_FOUND]  # nothing stored: the key is forgotten
    assert answers[1] == Recorded(outcome=corrected)
    assert corrections == [(TENANT, "lost", None), (TENANT, "import", corrected)]
