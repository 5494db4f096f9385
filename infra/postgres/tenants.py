"""Tenants and their API keys."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from domain.errors import NotFound
from domain.model import ApiKey, CallerKind, Page, Principal, Scope, SurveyGrant, Tenant
from domain.ratelimit import TenantLimits
from infra.postgres.cursor import after_key, keyset_page


def _limits(row: asyncpg.Record) -> TenantLimits:
    return TenantLimits(
        per_key=row["rate_per_key"],
        per_tenant=row["rate_per_tenant"],
        window_s=row["rate_window_s"],
    )


def _tenant(row: asyncpg.Record) -> Tenant:
    return Tenant(
        id=row["id"],
        name=row["name"],
        timezone=row["timezone"],
        created_at=row["created_at"],
        limits=_limits(row),
    )


def _key(row: asyncpg.Record) -> ApiKey:
    return ApiKey(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        scopes=tuple(Scope(s) for s in row["scopes"]),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        kind=CallerKind(row["kind"]),
        surveys=msgspec.convert(row["surveys"], type=tuple[SurveyGrant, ...]),
        origins=tuple(row["origins"]),
    )


class PgTenantRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, tenant: Tenant) -> None:
        await self._conn.execute(
            "INSERT INTO tenants (id, name, timezone, created_at) VALUES ($1, $2, $3, $4)",
            tenant.id,
            tenant.name,
            tenant.timezone,
            tenant.created_at,
        )

    async def get(self, tenant_id: UUID) -> Tenant:
        row = await self._conn.fetchrow("SELECT * FROM tenants WHERE id = $1", tenant_id)
        if row is None:
            raise NotFound("tenant not found")
        return _tenant(row)

    async def set_limits(self, tenant_id: UUID, limits: TenantLimits) -> Tenant:
        row = await self._conn.fetchrow(
            "UPDATE tenants SET rate_per_key = $2, rate_per_tenant = $3, rate_window_s = $4"
            " WHERE id = $1 RETURNING *",
            tenant_id,
            limits.per_key,
            limits.per_tenant,
            limits.window_s,
        )
        if row is None:
            raise NotFound("tenant not found")
        return _tenant(row)

    async def list(self, *, limit: int, cursor: str | None) -> Page[Tenant]:
        after_at, after_id = after_key(cursor, tuple[datetime, UUID])
        rows = await self._conn.fetch(
            "SELECT * FROM tenants WHERE $1::timestamptz IS NULL OR (created_at, id) < ($1, $2)"
            " ORDER BY created_at DESC, id DESC LIMIT $3",
            after_at,
            after_id,
            limit + 1,
        )
        return keyset_page([_tenant(r) for r in rows], limit, lambda x: (x.created_at, x.id))


class PgApiKeyRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, key: ApiKey, *, secret_hash: bytes) -> None:
        await self._conn.execute(
            "INSERT INTO api_keys"
            " (tenant_id, id, name, scopes, secret_hash, created_at, kind, surveys, origins)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)",
            key.tenant_id,
            key.id,
            key.name,
            [str(s) for s in key.scopes],
            secret_hash,
            key.created_at,
            str(key.kind),
            msgspec.to_builtins(key.surveys),
            list(key.origins),
        )

    async def list(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[ApiKey]:
        after_at, after_id = after_key(cursor, tuple[datetime, UUID])
        rows = await self._conn.fetch(
            "SELECT * FROM api_keys WHERE tenant_id = $1"
            " AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))"
            " ORDER BY created_at DESC, id DESC LIMIT $4",
            tenant_id,
            after_at,
            after_id,
            limit + 1,
        )
        return keyset_page([_key(r) for r in rows], limit, lambda k: (k.created_at, k.id))

    async def revoke(self, *, tenant_id: UUID, key_id: UUID) -> None:
        status = await self._conn.execute(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
            " WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            key_id,
        )
        if status.endswith(" 0"):
            raise NotFound("key not found")

    async def principal(
        self, *, tenant_id: UUID, key_id: UUID, secret_hash: bytes
    ) -> Principal | None:
        """The caller behind a live key, or None; the hash is compared in constant time."""
        row = await self._conn.fetchrow(
            "SELECT k.scopes, k.secret_hash, k.kind, k.surveys, k.origins, t.timezone,"
            " t.rate_per_key, t.rate_per_tenant, t.rate_window_s FROM api_keys k"
            " JOIN tenants t ON t.id = k.tenant_id"
            " WHERE k.tenant_id = $1 AND k.id = $2 AND k.revoked_at IS NULL",
            tenant_id,
            key_id,
        )
        if row is None or not hmac.compare_digest(row["secret_hash"], secret_hash):
            return None
        limits = _limits(row)
        return Principal(
            tenant_id=tenant_id,
            key_id=key_id,
            scopes=frozenset(Scope(s) for s in row["scopes"]),
            timezone=row["timezone"],
            kind=CallerKind(row["kind"]),
            surveys=msgspec.convert(row["surveys"], type=tuple[SurveyGrant, ...]),
            origins=frozenset(row["origins"]),
            limits=limits if limits.custom else None,
        )

    async def live(self, *, tenant_id: UUID, key_id: UUID) -> TenantLimits | None:
        row = await self._conn.fetchrow(
            "SELECT t.rate_per_key, t.rate_per_tenant, t.rate_window_s FROM api_keys k"
            " JOIN tenants t ON t.id = k.tenant_id"
            " WHERE k.tenant_id = $1 AND k.id = $2 AND k.revoked_at IS NULL",
            tenant_id,
            key_id,
        )
        return None if row is None else _limits(row)

    async def allow_origins(
        self, *, tenant_id: UUID, key_id: UUID, origins: Sequence[str], until: datetime
    ) -> None:
        await self._conn.execute(
            "INSERT INTO token_origins (tenant_id, key_id, origin, expires_at)"
            " SELECT $1, $2, o, $4 FROM unnest($3::text[]) o"
            " ON CONFLICT (tenant_id, key_id, origin)"
            " DO UPDATE SET expires_at = greatest(token_origins.expires_at, excluded.expires_at)",
            tenant_id,
            key_id,
            list(origins),
            until,
        )
