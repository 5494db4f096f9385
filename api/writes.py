"""Answer writes: the items of a batch, and the HTTP answer rendered from a request's outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Response

from api.body import StrictBody, decode_strict
from api.errors import problem_of
from api.idempotency import REPLAYED
from api.schemas.responses import (
    BatchCreate,
    BatchCreateDoc,
    BatchItemResult,
    BatchResult,
    ResponseCreate,
    response_out,
)
from domain.errors import InvalidInput
from domain.idempotency import Recorded
from domain.model import Principal, SurveyResponse
from domain.outcomes import ItemOutcome, Outcome, RequestOutcome, ResponseRecorded, error_of
from domain.responses import build_response

_encode = msgspec.json.encode
# The status of an answer that is stored; one that is not answers its error's status.
_STORED = {Outcome.CREATED: 201, Outcome.EXISTING: 200}


class BatchBody(StrictBody[BatchCreate]):
    doc_type = BatchCreateDoc


def build_batch(
    raws: list[msgspec.Raw], principal: Principal, now: datetime
) -> tuple[list[SurveyResponse], dict[int, InvalidInput]]:
    """The answers of a batch (in order) and the error of each invalid item, by position.

    Every item is decoded in one call when all are well formed; only otherwise one by one,
    so that each error names its item.
    """
    try:
        items = decode_strict(b"[" + b",".join(raws) + b"]", list[ResponseCreate])
    except InvalidInput:
        items = None
    answers, invalid = [], {}
    for i, raw in enumerate(raws):
        try:
            item = (
                items[i]
                if items is not None
                else decode_strict(raw, ResponseCreate, root=f"responses[{i}]")
            )
            answers.append(build_response(item.to_domain(), principal=principal, now=now))
        except InvalidInput as exc:
            invalid[i] = exc
    return answers, invalid


def render(recorded: Recorded) -> Response[Any]:
    """The HTTP answer of a write, rendered once, after its transaction (or from a replay)."""
    status, body = render_outcome(recorded.outcome)
    headers = {REPLAYED: "true"} if recorded.replayed else {}
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def render_outcome(outcome: RequestOutcome) -> tuple[int, bytes]:
    """Status and body of an outcome: the same bytes every time for the same outcome."""
    if isinstance(outcome, ResponseRecorded):
        return _STORED[outcome.outcome], _encode(response_out(outcome.response))
    items = [
        _failed(i, item)
        if item.id is None
        else BatchItemResult(index=i, status=_STORED[item.outcome], id=item.id)
        for i, item in enumerate(outcome.items)
    ]
    status = 200 if all(r.status < 300 for r in items) else 207
    return status, _encode(BatchResult(results=items))


def _failed(index: int, item: ItemOutcome) -> BatchItemResult:
    """An item without a stored answer: the problem details of its domain error."""
    error = error_of(item)
    assert error is not None  # an outcome without an answer always has its error
    problem = problem_of(error)
    problem = msgspec.structs.replace(problem, errors=problem.errors or None)
    return BatchItemResult(index=index, status=problem.status, error=problem)
