"""OpenAPI helpers: the problem responses and the response headers operations document.

Headers are declared once, in `HEADERS`. A route documents one on its success response with
`response_headers=header("Location", "ETag")`; `STATUS_HEADERS` names the ones every
response of a status carries (added by api.openapi_responses after the spec is built, as
`$ref`s to `components.headers`).
"""

from __future__ import annotations

from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIFormat, OpenAPIHeader, OpenAPIType, Schema

from api.errors import PROBLEM_JSON, Problem

PROBLEM_DESCRIPTIONS = {
    400: "Malformed JSON",
    401: "Missing, wrong or revoked credentials",
    403: "The API key lacks the required scope",
    404: "Unknown id (or an id of another tenant)",
    409: "Conflict with the current state",
    413: "Body larger than 1 MiB",
    414: "URI longer than 8 KiB",
    415: "The body is not `application/json` (UTF-8)",
    422: "Invalid input; `errors` names each field",
    429: "Rate limit used up (the key's or the tenant's), or too many failed "
    "authentications from this address; `Retry-After` says when to try again",
    431: "A header line over 8 KiB, or headers over 32 KiB or 64 lines",
    503: "PostgreSQL did not answer in time (`detail` says whether an answer may have been "
    "stored): retry after `Retry-After` seconds, with the same `Idempotency-Key`",
}


def _header(
    description: str, example: object, *, required: bool = False, **schema: object
) -> OpenAPIHeader:
    return OpenAPIHeader(
        schema=Schema(**schema),  # type: ignore[arg-type]
        description=description,
        required=required,
        examples={"example": Example(value=example)},
    )


HEADERS: dict[str, OpenAPIHeader] = {
    "X-Request-Id": _header(
        "The request's id: the caller's `X-Request-Id` (its first 64 characters) when "
        "sent in visible ASCII, else a generated one. Sent on every answer, errors "
        "included; every log line of the request carries it.",
        "9f86d081884c7d65",
        required=True,
        type=OpenAPIType.STRING,
        max_length=64,
    ),
    "Idempotent-Replayed": _header(
        "`true` when this is the stored answer to an earlier request with the same "
        "`Idempotency-Key` (nothing was recorded again); absent otherwise.",
        "true",
        type=OpenAPIType.STRING,
        enum=["true"],
    ),
    "Retry-After": _header(
        "Seconds to wait before trying again.",
        5,
        type=OpenAPIType.INTEGER,
        minimum=0,
    ),
    "Location": _header(
        "The path of the created resource, readable with GET.",
        "/v1/surveys/0b6f5c1e-3f0a-4a8e-9d49-1c2f8e6b7a10",
        type=OpenAPIType.STRING,
        format=OpenAPIFormat.URI_REFERENCE,
    ),
    "ETag": _header(
        "The representation's validator: send it back in `If-None-Match`.",
        '"3f2a9c"',
        type=OpenAPIType.STRING,
    ),
    "Cache-Control": _header(
        "How a cache may keep this answer.",
        "private, no-cache",
        type=OpenAPIType.STRING,
    ),
    "WWW-Authenticate": _header(
        "The authentication scheme to use.", "Bearer", type=OpenAPIType.STRING
    ),
    "RateLimit-Policy": _header(
        "The quota policies of the request (draft-ietf-httpapi-ratelimit-headers-11): `q` "
        "units per `w` seconds for the API key (`key`) and for all keys of its tenant "
        "(`tenant`), or per client address for failed authentications (`auth-failures`). "
        "A request costs 1 unit, a batch 1 per answer.",
        '"key";q=1200;w=60, "tenant";q=3000;w=60',
        type=OpenAPIType.STRING,
    ),
    "RateLimit": _header(
        "What is left under each policy: `r` units available now, `t` seconds until all "
        "are available again (on a 429: until this request would pass).",
        '"key";r=1187;t=1, "tenant";r=2950;t=3',
        type=OpenAPIType.STRING,
    ),
}
# Headers on every response of a status, whatever the operation ("*": every response).
STATUS_HEADERS: dict[int | str, tuple[str, ...]] = {
    "*": ("X-Request-Id",),
    401: ("WWW-Authenticate",),
    429: ("Retry-After", "RateLimit-Policy", "RateLimit"),
    503: ("Retry-After",),
}
# Headers on every success of an operation called with an API key (api.ratelimit).
KEY_SUCCESS_HEADERS = ("RateLimit-Policy", "RateLimit")


def header(*names: str) -> list[ResponseHeader]:
    """`response_headers=` of a route: document `names` (keys of HEADERS) on its success."""
    return [
        ResponseHeader(name=name, documentation_only=True, description=HEADERS[name].description)
        for name in names
    ]


def problems(*codes: int) -> dict[int, ResponseSpec]:
    """Problem responses for `codes`, plus the ones every authenticated call can answer."""
    wanted = sorted({401, 422, *codes})
    return {
        code: ResponseSpec(
            data_container=Problem,
            description=PROBLEM_DESCRIPTIONS[code],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for code in wanted
    }
