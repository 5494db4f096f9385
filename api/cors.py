"""CORS for the browser channel: publishable keys and browser tokens, their origins only.

A preflight carries no credentials, so it passes for an origin that some live publishable
key or browser token allows (api.services.OriginIndex); the request that follows is
checked against its own key (api.auth answers 403 for another origin, before anything is
stored). Responses carry `Access-Control-Allow-Origin` only when the caller's own key or
token allows the request's origin: exact match, never `*`, never credentials. Secret keys
get no CORS headers at all, so a browser cannot read what they return.
"""

from __future__ import annotations

from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import CALLER
from domain.model import Principal

ALLOW_METHODS = b"GET, POST"
ALLOW_HEADERS = b"authorization, content-type, idempotency-key"
EXPOSE_HEADERS = b"idempotent-replayed, retry-after, ratelimit, ratelimit-policy, x-request-id"
MAX_AGE = b"600"


def _origin(scope: Scope) -> bytes | None:
    return next((v for k, v in scope.get("headers") or [] if k == b"origin"), None)


def _is_preflight(scope: Scope) -> bool:
    if scope["method"] != "OPTIONS":
        return False
    return any(k == b"access-control-request-method" for k, _ in scope.get("headers") or [])


def browser_preflight(app: ASGIApp) -> ASGIApp:
    """ASGI middleware answering CORS preflights of /v1 (never of /v1/admin)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/") or path.startswith("/v1/admin"):
            await app(scope, receive, send)
            return
        origin = _origin(scope) if _is_preflight(scope) else None  # the method first: cheap
        if origin is None:
            await app(scope, receive, send)
            return
        headers = [(b"vary", b"Origin"), (b"content-length", b"0")]
        services = scope["app"].state.services
        if await services.browser_origins.allows(origin.decode("latin-1")):
            headers += [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-methods", ALLOW_METHODS),
                (b"access-control-allow-headers", ALLOW_HEADERS),
                (b"access-control-max-age", MAX_AGE),
            ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    return middleware


async def cors_headers(message: Message, scope: Scope) -> None:
    """before_send hook: it also sees the 401/403 answers raised by the auth middleware."""
    if message["type"] != "http.response.start":
        return
    caller: Any = scope.get(CALLER)  # type: ignore[misc]
    if not isinstance(caller, Principal):
        return
    origin = _origin(scope)
    if origin is None or origin.decode("latin-1") not in caller.origins:
        message.setdefault("headers", [])
        message["headers"] = [*message["headers"], (b"vary", b"Origin")]
        return
    message["headers"] = [
        *message.get("headers", []),
        (b"access-control-allow-origin", origin),
        (b"access-control-expose-headers", EXPOSE_HEADERS),
        (b"vary", b"Origin"),
    ]
