"""What became of the answers of a request: per answer, and for the request as a whole.

The ingest port tells each answer's `IngestResult`; the use-cases turn those into the
request's outcome (`ResponseRecorded` for one posted answer, `BatchRecorded` for a batch).
An outcome holds no wire format: it is what an Idempotency-Key records, and api/ renders
the HTTP answer from it, the first time and on every replay alike.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from uuid import UUID

import msgspec

from domain.errors import Conflict, DomainError, FieldError, InvalidInput, NotFound
from domain.model import SurveyResponse


class Outcome(enum.StrEnum):
    CREATED = "created"
    EXISTING = "existing"  # same external_id stored before: the stored answer, counted once
    SURVEY_NOT_FOUND = "survey_not_found"
    SURVEY_ARCHIVED = "survey_archived"
    INVALID = "invalid"  # a batch item that broke a rule: never handed to the ingest port


class IngestResult(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What the ingest port did with one answer; `response` is the stored one, if any."""

    outcome: Outcome
    response: SurveyResponse | None = None


# The tag "answer" is stored with every Idempotency-Key (and written by migration 022).
class ResponseRecorded(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag="answer"):
    """One posted answer, stored now (CREATED) or before under its external_id (EXISTING)."""

    outcome: Outcome
    response: SurveyResponse


class ItemOutcome(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """One item of a batch: the id of its stored answer, or why it has none (an invalid
    item's `detail` and `errors` are those of the InvalidInput it raised)."""

    outcome: Outcome
    id: UUID | None = None
    detail: str | None = None
    errors: list[FieldError] = []


class BatchRecorded(msgspec.Struct, frozen=True, kw_only=True, gc=False, tag="batch"):
    """A batch: one outcome per item, in the request's order."""

    items: list[ItemOutcome]


RequestOutcome = ResponseRecorded | BatchRecorded


def error_of(result: IngestResult | ItemOutcome) -> DomainError | None:
    """The domain error that explains why an answer was not stored; None when it was."""
    outcome = result.outcome
    if outcome is Outcome.SURVEY_NOT_FOUND:
        return NotFound("survey not found")
    if outcome is Outcome.SURVEY_ARCHIVED:
        return Conflict("survey is archived and accepts no new answers")
    if outcome is Outcome.INVALID:
        assert isinstance(result, ItemOutcome) and result.detail is not None
        return InvalidInput(result.detail, list(result.errors))
    return None


def invalid_item(error: InvalidInput) -> ItemOutcome:
    return ItemOutcome(outcome=Outcome.INVALID, detail=error.detail, errors=list(error.errors))


def response_outcome(result: IngestResult) -> ResponseRecorded | None:
    """A posted answer's outcome; None when it was not stored (see `error_of`)."""
    if result.response is None:
        return None
    return ResponseRecorded(outcome=result.outcome, response=result.response)


def batch_outcome(
    rejected: Mapping[int, ItemOutcome], results: Sequence[IngestResult]
) -> BatchRecorded:
    """The batch's items in order: `rejected` at their positions, `results` filling the rest."""
    if not rejected:
        return BatchRecorded(items=[_item(r) for r in results])
    ingested = iter(results)
    items = [rejected.get(i) or _item(next(ingested)) for i in range(len(rejected) + len(results))]
    return BatchRecorded(items=items)


def _item(result: IngestResult) -> ItemOutcome:
    if result.response is None:
        return ItemOutcome(outcome=result.outcome)
    return ItemOutcome(outcome=result.outcome, id=result.response.id)
