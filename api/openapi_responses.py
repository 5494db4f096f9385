"""The spec's responses as the service sends them: problem+json errors and response headers.

Litestar documents an `application/json {status_code, detail, extra}` 400 on every operation
with parameters; the service never sends that body (api.errors answers problem+json, and
malformed parameters answer 422 or 404). This pass over the generated spec drops it and
documents what every operation answers by construction: 400, 413 and 415 where there is a
body, 422 where there is any input, 401 where a credential is needed, 414 and 431 always;
then the response headers of api.docs (`$ref`s to `components.headers`) and an example for
every problem.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.spec import (
    Components,
    Example,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Parameter,
    Reference,
)

from api.docs import HEADERS, KEY_SUCCESS_HEADERS, PROBLEM_DESCRIPTIONS, STATUS_HEADERS
from api.errors import PROBLEM_JSON, UNAVAILABLE_DETAIL, FieldProblem, problem_body
from api.idempotency import REPLAYED

_PROBLEM_REF = "#/components/schemas/ProblemDetails"
_UNCHECKED_PARAMETERS = {"If-None-Match"}
# Authenticated operations that answer through an outage: /metrics reports it in its
# figures (nps_database_up 0) instead of failing.
_NO_OUTAGE_ANSWER = {"getMetrics"}
# status -> (slug, title, detail) of a typical problem, as api.errors words it.
_EXAMPLES = {
    400: (None, None, "the request body is not valid JSON: Input data was truncated"),
    401: (None, None, "missing bearer token in the Authorization header"),
    403: (None, None, "this API key lacks the scope 'manage'"),
    404: ("not-found", "Not found", "survey not found"),
    409: ("conflict", "Conflict", "the survey is archived and takes no new answers"),
    413: (None, None, "the request body is larger than the limit of 1 MiB"),
    414: (None, None, "the URI is longer than 8192 bytes"),
    415: (None, None, "the body must be JSON: send Content-Type: application/json"),
    422: ("validation-error", "Invalid input", "score: Expected `int` <= 10"),
    429: (None, None, "this API key's rate limit of 1200 per 60 s is used up; retry after 1 s"),
    431: (None, None, "the headers exceed 64 lines or 32768 bytes"),
    503: ("unavailable", "Service unavailable", UNAVAILABLE_DETAIL),
}


def operations(spec: OpenAPI) -> list[Operation]:
    """Every operation of the spec's paths (not its webhooks)."""
    ops = []
    for item in (spec.paths or {}).values():
        for method in ("get", "put", "post", "patch", "delete"):
            op = getattr(item, method, None)
            if op is not None:
                ops.append(op)
    return ops


def _problem_example(status: int) -> dict[str, Any]:
    slug, title, detail = _EXAMPLES.get(status, (None, None, ""))
    field = FieldProblem(field="score", message="Expected `int` <= 10")
    errors = [field] if status == 422 else None
    body = problem_body(status, detail, slug=slug, title=title, errors=errors)
    if status == 429:
        body = msgspec.structs.replace(body, violated_policies=["key"])
    example: dict[str, Any] = msgspec.to_builtins(body)
    return example


def _problem_response(status: int, description: str | None = None) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description or PROBLEM_DESCRIPTIONS[status],
        content={
            PROBLEM_JSON: OpenAPIMediaType(
                schema=Reference(ref=_PROBLEM_REF),
                examples={"example": Example(value=_problem_example(status))},
            )
        },
    )


def _is_framework_400(response: OpenAPIResponse | Reference) -> bool:
    return isinstance(response, OpenAPIResponse) and PROBLEM_JSON not in (response.content or {})


def _checked_parameters(op: Operation) -> list[Parameter | Reference]:
    """The parameters whose value can be refused (any `If-None-Match` is merely compared)."""
    return [
        p
        for p in op.parameters or []
        if not (isinstance(p, Parameter) and p.name in _UNCHECKED_PARAMETERS)
    ]


def _generic_statuses(op: Operation) -> set[int]:
    statuses = {414, 431}  # api.guards: the limits of every request
    if op.request_body is not None:
        statuses |= {400, 413, 415, 422}
    if _checked_parameters(op):
        statuses.add(422)
    if op.security:
        # 429: rate limits, failed authentications (api.ratelimit); 503: credentials are
        # looked up and the work needs PostgreSQL (api.errors.outage_handler)
        statuses |= {401, 429} if op.operation_id in _NO_OUTAGE_ANSWER else {401, 429, 503}
    return statuses


def _document_problems(op: Operation) -> None:
    responses = op.responses if op.responses is not None else {}
    if "400" in responses and _is_framework_400(responses["400"]):
        del responses["400"]
    if not _checked_parameters(op) and op.request_body is None:
        responses.pop("422", None)  # nothing to be invalid
    for status in sorted(_generic_statuses(op)):
        responses.setdefault(str(status), _problem_response(status))
    for code, response in responses.items():
        if isinstance(response, OpenAPIResponse) and PROBLEM_JSON in (response.content or {}):
            media = response.content[PROBLEM_JSON]  # type: ignore[index]
            if not isinstance(media.schema, Reference) or media.schema.ref != _PROBLEM_REF:
                media.schema = Reference(ref=_PROBLEM_REF)
            media.examples = media.examples or {
                "example": Example(value=_problem_example(int(code)))
            }
    op.responses = dict(sorted(responses.items()))


def _header_names(op: Operation, code: str) -> list[str]:
    names = [*STATUS_HEADERS.get("*", ())]
    if code.isdigit():
        names += STATUS_HEADERS.get(int(code), ())
    idempotent = any(
        isinstance(p, Parameter) and p.name == "Idempotency-Key" for p in op.parameters or []
    )
    if idempotent and code.startswith("2"):
        names.append(REPLAYED)
    if code.startswith("2") and any("apiKey" in s for s in op.security or []):
        names += KEY_SUCCESS_HEADERS
    return names


def _document_headers(op: Operation, used: set[str]) -> None:
    for code, response in (op.responses or {}).items():
        if not isinstance(response, OpenAPIResponse):
            continue
        headers: dict[str, OpenAPIHeader | Reference] = dict(response.headers or {})
        for name in [*headers, *_header_names(op, code)]:
            if name in HEADERS:
                headers[name] = Reference(ref=f"#/components/headers/{name}")
                used.add(name)
        response.headers = dict(sorted(headers.items())) or None


def document_responses(spec: OpenAPI) -> OpenAPI:
    """Rewrite every operation's responses in place; headers used go to components."""
    used: set[str] = set()
    for op in operations(spec):
        op.security = op.security or []  # stated: a route without one is public
        _document_problems(op)
        _document_headers(op, used)
    components = spec.components if isinstance(spec.components, Components) else Components()
    components.headers = {name: HEADERS[name] for name in sorted(used)} or None
    spec.components = components
    return spec
