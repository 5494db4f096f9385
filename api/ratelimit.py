"""Rate limits over HTTP (draft-ietf-httpapi-ratelimit-headers-11).

Every request made with an API key spends one unit of its key's quota and of its
tenant's, in one call to the limiter, before the handler runs; a batch of answers spends
one per answer once its body is read (routes marked with `per_item()`). Answers carry

    RateLimit-Policy: "key";q=1200;w=60, "tenant";q=3000;w=60
    RateLimit: "key";r=1187;t=1, "tenant";r=2950;t=1

and a refused request gets 429 problem+json with `Retry-After`. Failed authentications
are counted per client address; past the limit, requests from that address that would
need a key check are refused with 429 before any check.
"""

from __future__ import annotations

import functools
import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_JSON, ProblemDetails, problem_body
from domain.errors import InvalidInput
from domain.model import CallerKind, Principal
from domain.ports import RateLimiter
from domain.ratelimit import (
    NEVER,
    Decision,
    DefaultLimits,
    Limit,
    LimitState,
    auth_failures_allowed,
    charge_key,
    key_limits,
    record_auth_failure,
)

PER_ITEM_OPT = "nps_rate_per_item"
_STATE = "nps_rate"  # in scope["state"]: the request's Decision, or _REFUSED
_REFUSED = "refused"  # a 429 already carries its headers


@dataclass(frozen=True, kw_only=True)
class RateLimiting:
    """What the API needs to enforce limits: the limiter, the defaults, the proxies."""

    limiter: RateLimiter
    defaults: DefaultLimits
    auth_failures: Limit
    proxy_hops: int = 0  # trusted proxies in front, each adding to X-Forwarded-For
    per_address: Limit | None = None  # a publishable key's quota per client address
    enabled: bool = True  # NPS_RATE_LIMITS=0: nothing is limited or throttled
    on_refused: Callable[[str], None] | None = None  # told each 429's limit (the metrics)


class RateLimited(HTTPException):
    status_code = 429

    def __init__(self, decision: Decision, detail: str) -> None:
        super().__init__(detail=detail)
        self.decision = decision


def per_item() -> dict[str, Any]:
    """A route's `opt`: its handler charges the number of items (see `charge_items`)."""
    return {PER_ITEM_OPT: True}


@functools.lru_cache(maxsize=1024)
def _policy(limits: tuple[Limit, ...]) -> bytes:
    return ", ".join(f'"{x.name}";q={x.quota};w={x.window_s}' for x in limits).encode()


def _item(state: LimitState) -> str:
    reset = "" if state.reset_s < 0 else f";t={math.ceil(state.reset_s)}"
    return f'"{state.limit.name}";r={state.remaining}{reset}'


def rate_headers(decision: Decision) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-policy", _policy(tuple(s.limit for s in decision.states))),
        (b"ratelimit", ", ".join(_item(s) for s in decision.states).encode()),
    ]


def retry_after(decision: Decision) -> int:
    return max(1, math.ceil(decision.retry_after_s))


def rate_limited_handler(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[ProblemDetails]:
    assert isinstance(exc, RateLimited)
    rate = _rate(request.scope)
    if rate.on_refused is not None:
        rate.on_refused(next(iter(exc.decision.violated), "unknown"))
    headers = {k.decode(): v.decode() for k, v in rate_headers(exc.decision)}
    headers["Retry-After"] = str(retry_after(exc.decision))
    body = msgspec.structs.replace(
        problem_body(429, exc.detail), violated_policies=list(exc.decision.violated)
    )
    return Response(body, status_code=429, media_type=PROBLEM_JSON, headers=headers)


_WHOSE = {
    "key": "this API key's",
    "tenant": "this tenant's (all its keys together)",
    "address": "this client address's (with this publishable key)",
}


def _refusal(decision: Decision) -> RateLimited:
    state = next(s for s in decision.states if s.violated)
    limit = state.limit
    whose = _WHOSE.get(limit.name, f"the '{limit.name}'")
    return RateLimited(
        decision,
        f"{whose} rate limit of {limit.quota} per {limit.window_s} s is used up; "
        f"retry after {retry_after(decision)} s",
    )


async def _charge(rate: RateLimiting, principal: Principal, cost: int, scope: Scope) -> Decision:
    address = None
    if principal.kind is CallerKind.PUBLISHABLE and rate.per_address is not None:
        # A public key is used by anyone: each visitor's address gets a quota of its own.
        address = (client_address(scope, rate.proxy_hops), rate.per_address)
    return await charge_key(
        tenant_id=str(principal.tenant_id),
        key_id=str(principal.key_id),
        limits=key_limits(rate.defaults, principal.limits),
        cost=cost,
        limiter=rate.limiter,
        address=address,
    )


def _rate(scope: Scope) -> RateLimiting:
    rate: RateLimiting = scope["app"].state.services.rate_limits
    return rate


async def charge_items(request: Request[Any, Any, Any], count: int, *, field: str) -> None:
    """Spend `count` units for the items of a `per_item()` route's body: 429 when refused,
    422 naming `field` when the count exceeds a whole quota (it could never pass)."""
    user, rate = request.scope.get("user"), _rate(request.scope)
    if not (
        isinstance(user, Principal) and rate.enabled and PER_ITEM_OPT in request.route_handler.opt
    ):
        return
    decision = await _charge(rate, user, max(1, count), request.scope)
    state = request.scope["state"]
    if decision.retry_after_s == NEVER:
        state[_STATE] = decision
        quota = min(s.limit.quota for s in decision.states if s.violated)
        raise InvalidInput.field(
            field, f"{count} items exceed the rate limit of {quota}; send at most {quota}"
        )
    if not decision.allowed:
        state[_STATE] = _REFUSED
        raise _refusal(decision)
    state[_STATE] = decision


def rate_limit_middleware(app: ASGIApp) -> ASGIApp:
    """Charge each API-key request before its handler and add the RateLimit headers.

    Sits after authentication: requests without a tenant principal (health, docs, admin)
    pass untouched.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if not isinstance(user, Principal):
            await app(scope, receive, send)
            return
        rate = _rate(scope)
        state = scope["state"]
        per_item_route = PER_ITEM_OPT in scope["route_handler"].opt
        if not per_item_route:
            decision = await _charge(rate, user, 1, scope)
            if not decision.allowed:
                raise _refusal(decision)
            state[_STATE] = decision

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision = state.get(_STATE)
                if decision is None and per_item_route:  # the body was refused before charging
                    decision = state[_STATE] = await _charge(rate, user, 1, scope)
                if isinstance(decision, Decision):
                    message["headers"] = [*message.get("headers", ()), *rate_headers(decision)]
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def client_address(scope: Scope, proxy_hops: int) -> str:
    """The caller's address: the peer, or with `proxy_hops` trusted proxies in front the
    address that many entries from the right of X-Forwarded-For."""
    peer = str((scope.get("client") or ("unknown",))[0])
    if proxy_hops <= 0:
        return peer
    values = b",".join(v for k, v in scope["headers"] if k == b"x-forwarded-for")
    hops = [h.strip() for h in values.decode("latin-1").split(",") if h.strip()]
    if not hops:
        return peer
    candidate = hops[-proxy_hops] if len(hops) >= proxy_hops else hops[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


async def refuse_if_throttled(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """429 when the caller's address has failed authentication too often lately."""
    rate: RateLimiting = connection.app.state.services.rate_limits
    if not rate.enabled:
        return
    decision = await auth_failures_allowed(
        address=client_address(connection.scope, rate.proxy_hops),
        limit=rate.auth_failures,
        limiter=rate.limiter,
    )
    if not decision.allowed:
        limit = rate.auth_failures
        raise RateLimited(
            decision,
            f"too many failed authentications from this address ({limit.quota} per "
            f"{limit.window_s} s); retry after {retry_after(decision)} s",
        )


async def note_auth_failure(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    rate: RateLimiting = connection.app.state.services.rate_limits
    if rate.enabled:
        await record_auth_failure(
            address=client_address(connection.scope, rate.proxy_hops),
            limit=rate.auth_failures,
            limiter=rate.limiter,
        )
