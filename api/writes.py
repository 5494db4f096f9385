"""Answer writes: the items of a batch, and the stored status and body of single and batch posts."""

from __future__ import annotations

from datetime import datetime

import msgspec

from api.body import StrictBody, decode_strict
from api.errors import FieldProblem, ProblemDetails, status_and_type
from api.schemas.responses import (
    BatchCreate,
    BatchCreateDoc,
    BatchItemResult,
    BatchResult,
    ResponseCreate,
    response_out,
)
from domain import responses as uc
from domain.errors import DomainError, InvalidInput
from domain.model import Principal, Response
from domain.responses import IngestResult, Outcome

_encode = msgspec.json.encode


class BatchBody(StrictBody[BatchCreate]):
    doc_type = BatchCreateDoc


def render_single(results: list[IngestResult]) -> tuple[int, bytes] | None:
    result = results[0]
    if result.response is None:
        return None
    status = 201 if result.outcome is Outcome.CREATED else 200
    return status, _encode(response_out(result.response))


def _item_status(index: int, result: IngestResult) -> BatchItemResult:
    if result.response is not None:
        status = 201 if result.outcome is Outcome.CREATED else 200
        return BatchItemResult(index=index, status=status, id=result.response.id)
    try:
        uc.raise_for(result)
    except DomainError as err:
        status, type_ = status_and_type(err)
        error = ProblemDetails(type=type_, title=err.title, status=status, detail=err.detail)
        return BatchItemResult(index=index, status=status, error=error)
    raise AssertionError("a result without an answer always has an error")


def invalid_item(index: int, exc: InvalidInput) -> BatchItemResult:
    status, type_ = status_and_type(exc)
    errors = [FieldProblem(field=e.field, message=e.message) for e in exc.errors] or None
    error = ProblemDetails(
        type=type_, title=exc.title, status=status, detail=exc.detail, errors=errors
    )
    return BatchItemResult(index=index, status=status, error=error)


def build_batch(
    raws: list[msgspec.Raw], principal: Principal, now: datetime
) -> tuple[list[Response], list[int], dict[int, BatchItemResult]]:
    """The answers of a batch, their positions, and a 422 result for each invalid item.

    Every item is decoded in one call when all are well formed; only otherwise one by one,
    so that each error names its item.
    """
    try:
        items = decode_strict(b"[" + b",".join(raws) + b"]", list[ResponseCreate])
    except InvalidInput:
        items = None
    answers, positions, invalid = [], [], {}
    for i, raw in enumerate(raws):
        try:
            item = (
                items[i]
                if items is not None
                else decode_strict(raw, ResponseCreate, root=f"responses[{i}]")
            )
            answers.append(uc.build_response(item.to_domain(), principal=principal, now=now))
            positions.append(i)
        except InvalidInput as exc:
            invalid[i] = invalid_item(i, exc)
    return answers, positions, invalid


def render_batch(invalid: dict[int, BatchItemResult], positions: list[int]) -> uc.Render:
    def render(results: list[IngestResult]) -> tuple[int, bytes]:
        items = dict(invalid)
        for pos, result in zip(positions, results, strict=True):
            items[pos] = _item_status(pos, result)
        ordered = [items[i] for i in sorted(items)]
        status = 200 if all(r.status < 300 for r in ordered) else 207
        return status, _encode(BatchResult(results=ordered))

    return render
