"""First start: an admin token (unless NPS_ADMIN_TOKEN is set) and a demo tenant with a key."""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import asyncpg
import msgspec
import redis.asyncio as aioredis

from domain import tenants
from domain.model import Scope
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.redis.counters import RedisCounterStore
from infra.redis.resilient import ResilientCounters
from infra.settings import Settings


class FirstStart(msgspec.Struct, frozen=True, kw_only=True):
    """What to show once: the secrets exist nowhere else in clear text."""

    admin_token: str | None = None
    tenant_id: UUID | None = None
    api_key: str | None = None


async def _ensure_admin_token(conn: asyncpg.Connection, settings: Settings) -> str | None:
    if settings.admin_token:
        return None
    token = secrets.token_urlsafe(32)
    inserted = await conn.fetchval(
        "INSERT INTO service_secrets (name, secret_hash) VALUES ('admin_token', $1)"
        " ON CONFLICT (name) DO NOTHING RETURNING true",
        hashlib.sha256(token.encode()).digest(),
    )
    return token if inserted else None


async def first_start(
    pool: asyncpg.Pool, redis: aioredis.Redis, settings: Settings
) -> FirstStart | None:
    """Set up an empty installation; None when it was set up before."""
    async with pool.acquire() as conn:
        admin_token = await _ensure_admin_token(conn, settings)
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM tenants)"):
            return FirstStart(admin_token=admin_token) if admin_token else None
    now = datetime.now(UTC)
    uow = PgUnitOfWorkFactory(pool)
    tenant = await tenants.create_tenant(
        name="Demo",
        timezone="UTC",
        now=now,
        uow=uow,
        counters=ResilientCounters(RedisCounterStore(redis)),
    )
    _, key = await tenants.create_key(
        tenant_id=tenant.id, name="demo", scopes=list(Scope), now=now, uow=uow
    )
    return FirstStart(admin_token=admin_token, tenant_id=tenant.id, api_key=key)


def save_credentials(data_dir: str, first: FirstStart) -> Path:
    """Keep the first-start secrets next to the embedded data, readable by the owner only."""
    path = Path(data_dir) / "credentials.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"admin token: {first.admin_token}"] if first.admin_token else []
    if first.api_key:
        lines += [f"demo tenant: {first.tenant_id}", f"demo API key: {first.api_key}"]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
