"""RFC 9457 problem details: one table maps domain and framework errors to HTTP."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Annotated

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from api.logging import record_error
from api.params import CURSOR, DATE, DIMENSION, INSTANT
from api.schemas.common import SEGMENT_FILTER, TEXT
from domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IdempotencyMismatch,
    InvalidInput,
    NotFound,
    Unauthorized,
    Unavailable,
)

log = structlog.get_logger(__name__)
PROBLEM_JSON = "application/problem+json"
_PREFIX = "urn:nps-api:problem:"


class FieldProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One input at fault: `field` is a dotted path (`responses[3].score`) or a parameter."""

    field: str
    message: str


class ProblemDetails(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An error answer (RFC 9457); validation errors list the fields at fault."""

    type: Annotated[str, msgspec.Meta(description="`urn:nps-api:problem:` and a stable slug")]
    title: Annotated[str, msgspec.Meta(description="Short, the same for every problem of a type")]
    status: Annotated[int, msgspec.Meta(ge=400, le=599, description="The HTTP status")]
    detail: Annotated[str, msgspec.Meta(description="What went wrong this time")]
    errors: list[FieldProblem] | None = None
    error_id: (
        Annotated[
            str,
            msgspec.Meta(description="On a 500: the id of the one log line that tells more"),
        ]
        | None
    ) = None
    violated_policies: (
        Annotated[
            list[str],
            msgspec.Meta(description="429 only: the exceeded policies of the RateLimit headers"),
        ]
        | None
    ) = None


Problem = ProblemDetails


# domain error -> (status, problem slug); the first matching class wins (subclasses first).
DOMAIN_ERRORS: list[tuple[type[DomainError], int, str]] = [
    (IdempotencyMismatch, 422, "idempotency-key-reused"),
    (InvalidInput, 422, "validation-error"),
    (NotFound, 404, "not-found"),
    (Conflict, 409, "conflict"),
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (Unavailable, 503, "unavailable"),
]
RETRY_AFTER_S = 2  # what a 503 asks the client to wait before it tries again
UNAVAILABLE_DETAIL = (
    f"a service this request needs did not answer in time; retry in {RETRY_AFTER_S} seconds"
)
_HEADERS = {
    401: {"WWW-Authenticate": "Bearer"},
    503: {"Retry-After": str(RETRY_AFTER_S)},
}
_HTTP_SLUGS = {
    400: "malformed-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    500: "internal-error",
    422: "validation-error",
    429: "too-many-requests",
    431: "request-header-fields-too-large",
    503: "unavailable",
}


# One title per problem type, whoever raises it (a framework 422 reads like a domain one).
_TITLES = {
    "validation-error": InvalidInput.title,
    "not-found": NotFound.title,
    "conflict": Conflict.title,
    "unauthorized": Unauthorized.title,
    "forbidden": Forbidden.title,
    "unavailable": Unavailable.title,
}


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
    error_id: str | None = None,
) -> Response[Problem]:
    body = problem_body(status, detail, slug=slug, title=title, errors=errors)
    if error_id is not None:
        body = msgspec.structs.replace(body, error_id=error_id)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_body(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: list[FieldProblem] | None = None,
) -> ProblemDetails:
    slug = slug or _HTTP_SLUGS.get(status, "error")
    return ProblemDetails(
        type=_PREFIX + slug,
        title=title or _TITLES.get(slug) or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        errors=errors,
    )


def status_and_type(exc: DomainError) -> tuple[int, str]:
    """The HTTP status and problem type of a domain error (first matching class)."""
    for cls, status, slug in DOMAIN_ERRORS:
        if isinstance(exc, cls):
            return status, _PREFIX + slug
    raise exc  # pragma: no cover - every DomainError subclass is in the table


def problem_of(exc: DomainError) -> ProblemDetails:
    """The problem details of a domain error (an InvalidInput lists its fields)."""
    status, type_ = status_and_type(exc)
    errors = None
    if isinstance(exc, InvalidInput):
        errors = [FieldProblem(field=e.field, message=e.message) for e in exc.errors]
    return ProblemDetails(
        type=type_, title=exc.title, status=status, detail=exc.detail, errors=errors
    )


def domain_error_handler(_: Request, exc: Exception) -> Response[Problem]:
    assert isinstance(exc, DomainError)
    body = problem_of(exc)
    headers = _HEADERS.get(body.status)
    return Response(body, status_code=body.status, media_type=PROBLEM_JSON, headers=headers)


class BodyTooLarge(HTTPException):
    """A body over a limit smaller than the app's (publishable keys); names its limit."""

    status_code = 413


def _field_name(error: dict[str, object]) -> str:
    """The name the client used: `from` for `from_`, `Idempotency-Key` for a header."""
    key = str(error.get("key", "body")).rstrip("_")
    if str(error.get("source")) in ("header", "ParamType.HEADER"):
        return "-".join(word.capitalize() for word in re.split("[_-]", key))
    return key


def http_error_handler(_: Request, exc: Exception) -> Response[Problem]:
    assert isinstance(exc, HTTPException)
    if isinstance(exc, ValidationException):
        extra = [
            e for e in (exc.extra if isinstance(exc.extra, list) else []) if isinstance(e, dict)
        ]
        if any(str(e.get("source")) in ("path", "ParamType.PATH") for e in extra):
            return problem(404, "not found")  # a malformed id is an id that does not exist
        fields = [
            FieldProblem(field=_field_name(e), message=in_words(str(e.get("message", ""))))
            for e in extra
        ]
        missing = _MISSING.search(str(exc.detail))
        if not fields and missing:
            fields = [FieldProblem(field=missing.group(1), message="is required")]
        detail = "; ".join(f"{f.field}: {f.message}" for f in fields) or str(exc.detail)
        return problem(422, detail, errors=fields or None)
    status = exc.status_code
    detail = str(exc.detail) if exc.detail else HTTPStatus(status).phrase
    if status == 413 and not isinstance(exc, BodyTooLarge):
        detail = "the request body is larger than the limit of 1 MiB"
    headers = dict(exc.headers or {})  # a 405 carries Allow
    headers.update(_HEADERS.get(status, {}))
    return problem(status, detail, headers=headers or None)


def outage_handler(request: Request, exc: Exception) -> Response[Problem]:
    """A dependency did not answer in time (the composition root says which errors mean so)."""
    log.warning("dependency_unavailable", error=type(exc).__name__, method=request.method)
    return domain_error_handler(request, Unavailable(UNAVAILABLE_DETAIL))


def internal_error_handler(request: Request, exc: Exception) -> Response[Problem]:
    """One log line per 500 (the request's, with this error id), no traceback flood."""
    error_id = record_error(request.scope, exc)
    return problem(
        500,
        f"an unexpected error occurred; it has been logged with the error id {error_id}",
        error_id=error_id,
    )


EXCEPTION_HANDLERS = {
    DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}

# What a pattern means, in words: msgspec's message only quotes the expression.
_PATTERN_WORDS = {
    f"Expected `str` matching regex {pattern!r}": words
    for pattern, words in [
        (TEXT, "must not contain the NUL character (U+0000)"),
        (DATE, "must be a date from 2000-01-01 to 2999-12-31 (YYYY-MM-DD)"),
        (INSTANT, "must be an RFC 3339 date-time with offset, from the year 2000 to 2999"),
        (CURSOR, "is not a cursor this API returned"),
        (DIMENSION, "must be a dimension name: a-z, then up to 39 of a-z, 0-9 and _"),
        (SEGMENT_FILTER, "must be 'dimension:value' with a value of 1 to 100 characters"),
    ]
}


def in_words(message: str) -> str:
    return _PATTERN_WORDS.get(message, message)


_MISSING = re.compile(r"Missing required \w+ parameter '([^']+)'")
# DOTALL and \Z: a field name may hold any character, a newline or a backquote included.
_AT = re.compile(
    r"(?P<msg>.*?)(?: - at `(?P<key>key)` in `(?P<kpath>[^`]*)`| - at `(?P<path>[^`]*)`)?\Z",
    re.DOTALL,
)
_NAMED = re.compile(
    r"Object (?:missing required|contains unknown) field `(?P<name>.+)`\Z", re.DOTALL
)


def field_of(error: msgspec.ValidationError, *, root: str = "") -> FieldProblem:
    """Turn msgspec's message ('... - at `$.responses[1].score`') into a field path."""
    m = _AT.match(str(error))
    assert m is not None  # the pattern matches any text: its suffix is optional
    message = m.group("msg")
    path = (m.group("kpath") or m.group("path") or "$").removeprefix("$").removeprefix(".")
    path = path.replace("[...]", "")
    named = _NAMED.match(message)
    if named:
        path = f"{path}.{named.group('name')}" if path else named.group("name")
    message = in_words(message)
    if m.group("key"):
        message = f"invalid key: {message}"
    if root:
        path = f"{root}{path if path.startswith('[') or not path else '.' + path}"
    return FieldProblem(field=path or "body", message=message)
