"""A tenant's own keys and browser tokens (`manage` scope)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody

from api.auth import principal_of, requires
from api.body import StrictBody
from api.docs import problems
from api.params import Cursor, Limit, parse_segment
from api.schemas.tenants import KeyCreate, KeyCreated, KeyList, key_created, key_out
from api.schemas.tokens import TokenCreate, TokenOut
from api.services import services_of
from domain import tenants
from domain.model import DEFAULT_PAGE, Scope


class KeyController(Controller):
    path = "/v1/keys"
    tags = ["keys"]
    security = [{"apiKey": []}]
    opt = requires(Scope.MANAGE)

    @post(
        "/",
        operation_id="createOwnApiKey",
        summary="Create a key of the calling tenant",
        description="Typically a publishable key (`pk_…`) for a web page: bound to surveys "
        "and web origins, it can only record answers to those surveys. A secret key created "
        "here carries only scopes the calling key holds. The `key` is shown once.",
        dto=StrictBody[KeyCreate],
        return_dto=None,
        responses=problems(403, 404),
    )
    async def create_key(self, data: JSONBody[KeyCreate], request: Request) -> KeyCreated:
        services, principal = services_of(request), principal_of(request)
        key, text = await tenants.create_key(
            tenant_id=principal.tenant_id,
            spec=data.to_domain(),
            now=services.clock(),
            uow=services.uow,
            creator=principal,
        )
        services.browser_origins.invalidate()
        return key_created(key, text)

    @get(
        "/",
        operation_id="listOwnApiKeys",
        summary="List the calling tenant's keys (never their secrets)",
        responses=problems(403),
    )
    async def list_keys(
        self, request: Request, limit: Limit = DEFAULT_PAGE, cursor: Cursor = None
    ) -> KeyList:
        page = await tenants.list_keys(
            tenant_id=principal_of(request).tenant_id,
            limit=limit,
            cursor=cursor,
            uow=services_of(request).uow,
        )
        return KeyList(data=[key_out(k) for k in page.items], next_cursor=page.next_cursor)

    @delete(
        "/{key_id:uuid}",
        operation_id="revokeOwnApiKey",
        summary="Revoke a key of the calling tenant at once",
        description="Browser tokens issued by the key stop working at once too.",
        responses=problems(403, 404),
    )
    async def revoke_key(self, key_id: FromPath[UUID], request: Request) -> None:
        services = services_of(request)
        await tenants.revoke_key(
            tenant_id=principal_of(request).tenant_id,
            key_id=key_id,
            uow=services.uow,
            cache=services.principals,
        )
        services.browser_origins.invalidate()  # its origins stop passing preflights


class TokenController(Controller):
    path = "/v1/tokens"
    tags = ["keys"]
    security = [{"apiKey": []}]

    @post(
        "/",
        operation_id="createBrowserToken",
        summary="Issue a short-lived browser token for results",
        description="A signed token (`nbt_…`, at most one hour) with read scopes of the "
        "calling key, for the given web origins, optionally fixed to one segment: results "
        "routes then answer only for that segment (403 for any other). It is checked "
        "without a database round trip; revoking the issuing key stops it at once.",
        opt=requires(Scope.MANAGE),
        dto=StrictBody[TokenCreate],
        return_dto=None,
        status_code=201,
        responses=problems(403),
    )
    async def create_token(self, data: JSONBody[TokenCreate], request: Request) -> TokenOut:
        services = services_of(request)
        segment = parse_segment(data.segment) if data.segment is not None else None
        token, claims = await tenants.issue_token(
            principal_of(request),
            scopes=data.scopes,
            ttl=timedelta(seconds=data.ttl_seconds),
            origins=data.origins,
            segment=segment,
            now=services.clock(),
            secret=services.token_secret,
            uow=services.uow,
        )
        services.browser_origins.invalidate()
        return TokenOut(
            token=token,
            expires_at=datetime.fromtimestamp(claims.expires, UTC),
            scopes=claims.scopes,
            origins=claims.origins,
            segment=data.segment,
        )
