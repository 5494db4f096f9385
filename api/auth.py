"""Bearer authentication: API keys for tenant routes, the admin token for /v1/admin."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from api.errors import BodyTooLarge
from api.ratelimit import note_auth_failure, refuse_if_throttled
from domain.browser import PUBLISHABLE_MAX_BODY, TOKEN_PREFIX
from domain.keys import hash_secret
from domain.model import CallerKind, Principal, Scope

ADMIN = "admin"
PUBLIC_PATHS = {"/health", "/docs", "/widget"}
METRICS_PATH = "/metrics"  # the admin token, like /v1/admin
SCOPES_OPT = "nps_scopes"
BROWSER_OPT = "nps_browser"
CALLER = "nps.caller"  # the authenticated principal, in the ASGI scope (read by api.cors)
_ONLY = {
    CallerKind.PUBLISHABLE: "a publishable key can only record answers (POST /v1/responses)",
    CallerKind.TOKEN: "a browser token can only read results (GET /v1/nps…)",
}


def _header(connection: ASGIConnection[Any, Any, Any, Any], name: bytes) -> str | None:
    return next(
        (v.decode("latin-1") for k, v in connection.scope["headers"] if k == name),
        None,
    )


def _check_browser_caller(
    connection: ASGIConnection[Any, Any, Any, Any], principal: Principal, opt: dict[str, Any]
) -> None:
    """Publishable keys and browser tokens: only their routes, only from their origins."""
    if opt.get(BROWSER_OPT) is not principal.kind:
        raise PermissionDeniedException(_ONLY[principal.kind])
    origin = _header(connection, b"origin")
    if origin is not None and origin not in principal.origins:
        raise PermissionDeniedException(f"the origin {origin} is not allowed for this key")
    length = _header(connection, b"content-length")
    publishable = principal.kind is CallerKind.PUBLISHABLE
    if publishable and length and length.isdigit() and int(length) > PUBLISHABLE_MAX_BODY:
        raise BodyTooLarge(detail=f"a publishable key's body limit is {PUBLISHABLE_MAX_BODY} bytes")


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    # Straight from the ASGI scope: building the connection's Headers costs more than this.
    header = _header(connection, b"authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        services = connection.app.state.services
        path = connection.scope["path"]
        admin = path.startswith("/v1/admin") or path == METRICS_PATH
        token = _bearer(connection)
        # A key verified lately is served from the cache: only its exact token finds it, so
        # guessing never gets there and needs no throttle check. Browser tokens are checked
        # by their signature, without the database: they are throttled on failure only.
        principal = None if admin or token is None else services.principals.get(token)
        if principal is None:
            if token is None or not token.startswith(TOKEN_PREFIX):
                await refuse_if_throttled(connection)
            try:
                principal = await _verify(connection, token, admin=admin)
            except NotAuthorizedException:
                await note_auth_failure(connection)
                raise
        if principal == ADMIN:
            return AuthenticationResult(user=ADMIN, auth=None)
        opt = connection.scope["route_handler"].opt
        if principal.kind is not CallerKind.SECRET:
            connection.scope[CALLER] = principal  # type: ignore[literal-required]
            _check_browser_caller(connection, principal, opt)
        wanted = opt.get(SCOPES_OPT)
        if wanted is not None and not wanted[0] & principal.scopes:
            connection.scope["user"] = principal  # the 403 is logged with its tenant
            raise PermissionDeniedException(f"this API key lacks the scope '{wanted[1]}'")
        return AuthenticationResult(user=principal, auth=None)


async def _verify(
    connection: ASGIConnection[Any, Any, Any, Any], token: str | None, *, admin: bool
) -> Any:
    """The admin marker or the caller's principal; 401 for anything else."""
    if token is None:
        raise NotAuthorizedException("missing bearer token in the Authorization header")
    services = connection.app.state.services
    if admin:
        if not hmac.compare_digest(hash_secret(token), services.admin_token_hash):
            raise NotAuthorizedException("invalid admin token")
        return ADMIN
    principal = await services.authenticate(token)
    if principal is None:
        raise NotAuthorizedException("invalid or revoked API key")
    return principal


def requires(*scopes: Scope, browser: CallerKind | None = None) -> dict[str, Any]:
    """A route's `opt`: the calling key must carry one of `scopes`; `browser` names the
    kind of browser credential (publishable key or token) the route also accepts.

    BearerAuthMiddleware checks it right after authenticating: a Litestar guard would copy
    the route handler object on every request (measured: 6 % of a read's time).
    """
    opt: dict[str, Any] = {SCOPES_OPT: (frozenset(scopes), "' or '".join(scopes))}
    if browser is not None:
        opt[BROWSER_OPT] = browser
    return opt


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.user
    assert isinstance(user, Principal)
    return user
