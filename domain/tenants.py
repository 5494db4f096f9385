"""Use-cases of tenants and their API keys."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import msgspec

from domain.browser import TokenClaims, check_origins, sign_token, token_claims, verify_token
from domain.errors import Forbidden, InvalidInput
from domain.keys import format_key, hash_secret, new_secret, parse_key
from domain.model import (
    ApiKey,
    CallerKind,
    Page,
    Principal,
    Scope,
    SegmentFilter,
    SurveyGrant,
    Tenant,
)
from domain.periods import zone
from domain.ports import CounterInitializer, PrincipalCache, UnitOfWorkFactory


def check_timezone(name: str, *, field: str = "timezone") -> str:
    try:
        zone(name)
    except ValueError:
        raise InvalidInput.field(field, f"'{name}' is not an IANA time zone") from None
    return name


async def create_tenant(
    *,
    name: str,
    timezone: str,
    now: datetime,
    uow: UnitOfWorkFactory,
    counters: CounterInitializer,
) -> Tenant:
    tenant = Tenant(id=uuid4(), name=name, timezone=check_timezone(timezone), created_at=now)
    async with uow() as tx:
        await tx.tenants.add(tenant)
    with contextlib.suppress(Exception):
        await counters.init_tenant(tenant.id)
    return tenant


async def list_tenants(*, limit: int, cursor: str | None, uow: UnitOfWorkFactory) -> Page[Tenant]:
    async with uow() as tx:
        return await tx.tenants.list(limit=limit, cursor=cursor)


class KeySpec(msgspec.Struct, frozen=True, kw_only=True):
    """What a new key may do: scopes for a secret key; surveys and origins for a publishable."""

    name: str
    kind: CallerKind = CallerKind.SECRET
    scopes: tuple[Scope, ...] = ()
    surveys: tuple[SurveyGrant, ...] = ()
    origins: tuple[str, ...] = ()


def _checked(spec: KeySpec, creator: Principal | None) -> KeySpec:
    if spec.kind is CallerKind.PUBLISHABLE:
        if set(spec.scopes) - {Scope.RESPONSES_WRITE}:
            raise InvalidInput.field("scopes", "a publishable key can only record answers")
        if not spec.surveys:
            raise InvalidInput.field("surveys", "a publishable key needs at least one survey")
        ids = [g.survey_id for g in spec.surveys]
        if len(set(ids)) != len(ids):
            raise InvalidInput.field("surveys", "each survey may be listed once")
        origins = check_origins(spec.origins)
        return msgspec.structs.replace(spec, scopes=(Scope.RESPONSES_WRITE,), origins=origins)
    if spec.kind is not CallerKind.SECRET:
        raise InvalidInput.field("kind", "must be 'secret' or 'publishable'")
    if not spec.scopes:
        raise InvalidInput.field("scopes", "a secret key needs at least one scope")
    if spec.surveys or spec.origins:
        raise InvalidInput.field("surveys", "only publishable keys are bound to surveys")
    if creator is not None and not set(spec.scopes) <= creator.scopes:
        raise Forbidden("a key can only create keys with scopes it holds itself")
    return msgspec.structs.replace(spec, scopes=tuple(dict.fromkeys(spec.scopes)))


async def get_tenant(*, tenant_id: UUID, uow: UnitOfWorkFactory) -> Tenant:
    async with uow(tenant_id) as tx:
        return await tx.tenants.get(tenant_id)


async def set_tenant_limits(
    *,
    tenant_id: UUID,
    changes: Mapping[str, int | None],
    uow: UnitOfWorkFactory,
    cache: PrincipalCache | None = None,
) -> Tenant:
    """Change some of a tenant's rate limits (None: back to the default); every process
    applies them to its next request (its cached keys of the tenant are dropped)."""
    async with uow(tenant_id) as tx:
        current = await tx.tenants.get(tenant_id)
        limits = msgspec.structs.replace(current.limits, **changes)
        tenant = await tx.tenants.set_limits(tenant_id, limits)
    if cache is not None:
        await cache.tenant_changed(tenant_id)
    return tenant


async def create_key(
    *,
    tenant_id: UUID,
    spec: KeySpec,
    now: datetime,
    uow: UnitOfWorkFactory,
    creator: Principal | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its secret text, which is shown once and never stored.

    `creator` is the tenant's own key when it creates one (None for the operator).
    """
    spec = _checked(spec, creator)
    key = ApiKey(
        id=uuid4(),
        tenant_id=tenant_id,
        name=spec.name,
        scopes=spec.scopes,
        created_at=now,
        kind=spec.kind,
        surveys=spec.surveys,
        origins=spec.origins,
    )
    secret = new_secret()
    async with uow(tenant_id) as tx:
        await tx.tenants.get(tenant_id)
        for grant in spec.surveys:
            await tx.surveys.get(tenant_id=tenant_id, survey_id=grant.survey_id)
        await tx.keys.add(key, secret_hash=hash_secret(secret))
    publishable = spec.kind is CallerKind.PUBLISHABLE
    text = format_key(tenant_id=tenant_id, key_id=key.id, secret=secret, publishable=publishable)
    return key, text


async def list_keys(
    *, tenant_id: UUID, limit: int, cursor: str | None, uow: UnitOfWorkFactory
) -> Page[ApiKey]:
    """The tenant's keys, newest first, revoked ones included (never their secrets)."""
    async with uow(tenant_id) as tx:
        return await tx.keys.list(tenant_id=tenant_id, limit=limit, cursor=cursor)


async def revoke_key(
    *, tenant_id: UUID, key_id: UUID, uow: UnitOfWorkFactory, cache: PrincipalCache | None = None
) -> None:
    """Revoke in the database, then evict the key from every process's cache at once."""
    async with uow(tenant_id) as tx:
        await tx.keys.revoke(tenant_id=tenant_id, key_id=key_id)
    if cache is not None:
        await cache.revoked(tenant_id=tenant_id, key_id=key_id)


async def authenticate_token(
    token: str, *, secret: bytes, now: datetime, uow: UnitOfWorkFactory, cache: PrincipalCache
) -> Principal | None:
    """The principal of a browser token: its signature and expiry are checked here, without
    the database; its issuing key is looked up only when no recent check is cached."""
    claims = verify_token(token, secret, now)
    if claims is None:
        return None
    if cache.issuer_live(claims.tenant_id, claims.key_id):
        limits = cache.issuer_limits(claims.tenant_id, claims.key_id)
    else:
        async with uow(claims.tenant_id) as tx:
            live = await tx.keys.live(tenant_id=claims.tenant_id, key_id=claims.key_id)
        if live is None:
            return None
        limits = live if live.custom else None
        cache.mark_issuer_live(claims.tenant_id, claims.key_id, limits)
    principal = claims.principal()
    return principal if limits is None else msgspec.structs.replace(principal, limits=limits)


async def authenticate(
    token: str, *, uow: UnitOfWorkFactory, cache: PrincipalCache | None = None
) -> Principal | None:
    """The principal of an API key; None for a malformed, unknown or revoked key."""
    if cache is not None and (hit := cache.get(token)) is not None:
        return hit
    parsed = parse_key(token)
    if parsed is None:
        return None
    async with uow(parsed.tenant_id) as tx:
        principal = await tx.keys.principal(
            tenant_id=parsed.tenant_id,
            key_id=parsed.key_id,
            secret_hash=hash_secret(parsed.secret),
        )
    if principal is not None and parsed.publishable != (principal.kind is CallerKind.PUBLISHABLE):
        return None
    if cache is not None and principal is not None:
        cache.put(token, parsed, principal)
    return principal


async def issue_token(
    issuer: Principal,
    *,
    scopes: Sequence[Scope],
    ttl: timedelta,
    origins: Sequence[str],
    segment: SegmentFilter | None,
    now: datetime,
    secret: bytes,
    uow: UnitOfWorkFactory,
) -> tuple[str, TokenClaims]:
    """A signed browser token; its origins are recorded so that preflights from them pass."""
    claims = token_claims(issuer, scopes=scopes, ttl=ttl, origins=origins, segment=segment, now=now)
    async with uow(issuer.tenant_id) as tx:
        await tx.keys.allow_origins(
            tenant_id=issuer.tenant_id,
            key_id=issuer.key_id,
            origins=claims.origins,
            until=now + ttl,
        )
    return sign_token(claims, secret), claims
