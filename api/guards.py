"""Request limits checked before anything is parsed: URI length, headers, body media type.

Each answers with a problem (414, 431, 415) through the error table instead of letting an
oversized or mislabelled request reach parsing. The HTTP server refuses still larger
requests itself (a URI over 64 KiB, over 100 header lines) with an empty 414 or 431.
"""

from __future__ import annotations

from typing import Any

from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Receive, Scope, Send

MAX_URI_BYTES = 8 * 1024
MAX_HEADER_BYTES = 8 * 1024  # one header line, name and value
MAX_HEADERS_BYTES = 32 * 1024  # all of them
MAX_HEADER_COUNT = 64
JSON = b"application/json"

_reads_body: dict[int, bool] = {}  # id(route handler) -> does it take a JSON body


def _takes_body(handler: Any) -> bool:
    known = _reads_body.get(id(handler))
    if known is None:
        known = _reads_body[id(handler)] = "data" in handler.parsed_fn_signature.parameters
    return known


def is_json(content_type: bytes) -> bool:
    """application/json, with a UTF-8 charset or none (RFC 8259 allows no other)."""
    media, _, params = content_type.partition(b";")
    if media.strip().lower() != JSON:
        return False
    for param in params.split(b";"):
        name, _, value = param.partition(b"=")
        if name.strip().lower() == b"charset" and value.strip().strip(b'"').lower() not in (
            b"utf-8",
            b"utf8",
        ):
            return False
    return True


def check(scope: Scope) -> None:
    """Raise the HTTP error a request over the limits or with a non-JSON body deserves."""
    # the decoded path: raw_path holds the query too under some servers and test clients
    if len(scope["path"]) + len(scope.get("query_string") or b"") > MAX_URI_BYTES:
        raise HTTPException(status_code=414, detail=f"the URI is longer than {MAX_URI_BYTES} bytes")
    headers = scope["headers"]
    total, content_type = 0, None
    for name, value in headers:
        size = len(name) + len(value)
        if size > MAX_HEADER_BYTES:
            raise HTTPException(
                status_code=431,
                detail=f"the header '{name.decode('latin-1')[:64]}' is longer than "
                f"{MAX_HEADER_BYTES} bytes",
            )
        total += size
        if name == b"content-type":
            content_type = value
    if total > MAX_HEADERS_BYTES or len(headers) > MAX_HEADER_COUNT:
        raise HTTPException(
            status_code=431,
            detail=f"the headers exceed {MAX_HEADER_COUNT} lines or {MAX_HEADERS_BYTES} bytes",
        )
    if _takes_body(scope["route_handler"]) and not is_json(content_type or b""):
        raise HTTPException(
            status_code=415,
            detail="the body must be JSON: send Content-Type: application/json",
        )


def request_limits(app: ASGIApp) -> ASGIApp:
    """ASGI middleware (after routing, before authentication) applying `check`."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            check(scope)
        await app(scope, receive, send)

    return middleware
