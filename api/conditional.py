"""Conditional GET: an ETag on every JSON answer of a GET, 304 when `If-None-Match` matches.

The tag is a hash of the answer's body as rendered (before compression), so it is exact:
it changes when any byte of the answer does, and only then. It saves the transfer, not
the read (results are cheap to compute: the counters' read path keeps them). Tags are weak
(`W/"…"`) because one tag serves both the gzip and the identity encoding of an answer.
The same answers carry `Cache-Control: private, no-cache`: a client may keep them, must
ask again before use, and no shared cache may keep them.

Runs inside the compression middleware (ConditionalCompression) so that it sees the body
before gzip, whose output changes with the time of day.
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar.middleware.compression import CompressionMiddleware
from litestar.openapi.spec import (
    Example,
    OpenAPI,
    OpenAPIResponse,
    Operation,
    Parameter,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CACHE_CONTROL = b"private, no-cache"
_DROPPED_ON_304 = {b"content-type", b"content-length"}


def etag_of(body: bytes) -> bytes:
    return b'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'


def _header(headers: Any, name: bytes) -> bytes | None:
    for key, value in headers:  # a loop: this runs on every GET
        if key.lower() == name:
            return bytes(value)
    return None


def matches(if_none_match: bytes | None, etag: bytes) -> bool:
    """Weak comparison (RFC 9110 13.1.2): `*` or any listed tag, W/ or not."""
    if not if_none_match:
        return False
    opaque = etag.removeprefix(b"W/")
    tags = (t.strip().removeprefix(b"W/") for t in if_none_match.split(b","))
    return any(t in (b"*", opaque) for t in tags)


def conditional_get(app: ASGIApp) -> ASGIApp:
    """ASGI wrapper: ETag and Cache-Control on a GET's 200 JSON answer; 304 when current."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await app(scope, receive, send)
            return
        held: Message | None = None

        async def send_wrapper(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and _eligible(message):
                held = message  # sent with the body, once its tag is known
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            start, held = held, None
            if message.get("more_body"):  # a stream: sent as it comes, without a tag
                await send(start)
                await send(message)
                return
            await _send_tagged(scope, start, message, send)

        await app(scope, receive, send_wrapper)

    return middleware


def _eligible(start: Message) -> bool:
    headers = start.get("headers", ())
    content_type = _header(headers, b"content-type") or b""
    return (
        start["status"] == 200
        and content_type.startswith(b"application/json")
        and _header(headers, b"etag") is None
    )


async def _send_tagged(scope: Scope, start: Message, body: Message, send: Send) -> None:
    etag = etag_of(body.get("body", b""))
    headers = [*start.get("headers", ()), (b"etag", etag)]
    if _header(headers, b"cache-control") is None:
        headers.append((b"cache-control", CACHE_CONTROL))
    if matches(_header(scope["headers"], b"if-none-match"), etag):
        kept = [(k, v) for k, v in headers if k.lower() not in _DROPPED_ON_304]
        await send({"type": "http.response.start", "status": 304, "headers": kept})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({**start, "headers": headers})
    await send(body)


class ConditionalCompression(CompressionMiddleware):
    """Litestar's compression, with conditional_get between it and the route."""

    def __init__(self, app: ASGIApp, config: Any) -> None:
        super().__init__(app=conditional_get(app), config=config)


def document_conditional_gets(spec: OpenAPI) -> OpenAPI:
    """State the rule above on every GET whose 200 is JSON: If-None-Match, ETag, 304.

    Runs before api.openapi_responses.document_responses, which turns the header names
    into `$ref`s to components.headers and adds X-Request-Id to the 304.
    """
    for item in (spec.paths or {}).values():
        op = item.get
        ok = (op.responses or {}).get("200") if op is not None else None
        if op is None or not isinstance(ok, OpenAPIResponse):
            continue
        if "application/json" not in (ok.content or {}):
            continue
        _document(op, ok)
    return spec


def _document(op: Operation, ok: OpenAPIResponse) -> None:
    names = {"ETag": None, "Cache-Control": None}
    ok.headers = {**(ok.headers or {}), **names}  # type: ignore[dict-item]
    op.parameters = [
        *(op.parameters or []),
        Parameter(
            name="If-None-Match",
            param_in="header",
            required=False,
            description="An `ETag` of an earlier answer: 304 with no body while it is current.",
            schema=Schema(type=OpenAPIType.STRING),
            examples={"example": Example(value='W/"5d41402abc4b2a76b9719d91"')},
        ),
    ]
    assert op.responses is not None
    op.responses["304"] = OpenAPIResponse(
        description="Not modified: the `ETag` sent in `If-None-Match` is still current",
        headers=dict(names),  # type: ignore[arg-type]
    )
