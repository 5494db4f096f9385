"""Use-cases of tenants and their API keys."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID, uuid4

from domain.errors import InvalidInput
from domain.keys import ParsedKey, format_key, hash_secret, new_secret, parse_key
from domain.model import ApiKey, Page, Principal, Scope, Tenant
from domain.periods import zone
from domain.ports import UnitOfWorkFactory


class CounterInitializer(Protocol):
    async def init_tenant(self, tenant_id: UUID) -> None: ...


class PrincipalCache(Protocol):
    """Recently authenticated keys, so that a request needs no database round trip."""

    def get(self, token: str) -> Principal | None: ...
    def put(self, token: str, parsed: ParsedKey, principal: Principal) -> None: ...
    async def revoked(self, *, tenant_id: UUID, key_id: UUID) -> None: ...


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


async def create_key(
    *,
    tenant_id: UUID,
    name: str,
    scopes: Sequence[Scope],
    now: datetime,
    uow: UnitOfWorkFactory,
) -> tuple[ApiKey, str]:
    """A new key and its secret text, which is shown once and never stored."""
    key = ApiKey(
        id=uuid4(),
        tenant_id=tenant_id,
        name=name,
        scopes=tuple(dict.fromkeys(scopes)),
        created_at=now,
    )
    secret = new_secret()
    async with uow() as tx:
        await tx.tenants.get(tenant_id)
        await tx.keys.add(key, secret_hash=hash_secret(secret))
    return key, format_key(tenant_id=tenant_id, key_id=key.id, secret=secret)


async def revoke_key(
    *, tenant_id: UUID, key_id: UUID, uow: UnitOfWorkFactory, cache: PrincipalCache | None = None
) -> None:
    """Revoke in the database, then evict the key from every process's cache at once."""
    async with uow() as tx:
        await tx.keys.revoke(tenant_id=tenant_id, key_id=key_id)
    if cache is not None:
        await cache.revoked(tenant_id=tenant_id, key_id=key_id)


async def authenticate(
    token: str, *, uow: UnitOfWorkFactory, cache: PrincipalCache | None = None
) -> Principal | None:
    """The principal of a bearer token; None for a malformed, unknown or revoked key."""
    if cache is not None and (hit := cache.get(token)) is not None:
        return hit
    parsed = parse_key(token)
    if parsed is None:
        return None
    async with uow() as tx:
        principal = await tx.keys.principal(
            tenant_id=parsed.tenant_id,
            key_id=parsed.key_id,
            secret_hash=hash_secret(parsed.secret),
        )
    if cache is not None and principal is not None:
        cache.put(token, parsed, principal)
    return principal
