"""First start: an admin token (unless NPS_ADMIN_TOKEN is set) and, on the embedded servers
of `make run` only, a demo tenant with a key."""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import asyncpg
import msgspec

from domain import tenants
from domain.model import Scope
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.redis.client import RedisClient
from infra.redis.counters import RedisCounterStore
from infra.redis.resilient import ResilientCounters
from infra.settings import Settings


class FirstStart(msgspec.Struct, frozen=True, kw_only=True):
    """What to show once: the secrets exist nowhere else in clear text."""

    admin_token: str | None = None
    tenant_id: UUID | None = None
    api_key: str | None = None


_LOCK_ID = 0x6E70730001  # first start: one process at a time (replicas starting together)


def hash_admin_token(token: str) -> bytes:
    """The same digest infra.runtime.admin_token_hash compares with."""
    return hashlib.sha256(token.encode()).digest()


async def _store_admin_token(conn: asyncpg.Connection, settings: Settings) -> str | None:
    """A new admin token when none is stored and NPS_ADMIN_TOKEN is unset; only its hash is kept."""
    if settings.admin_token:
        return None
    token = secrets.token_urlsafe(32)
    inserted = await conn.fetchval(
        "INSERT INTO service_secrets (name, secret_hash) VALUES ('admin_token', $1)"
        " ON CONFLICT (name) DO NOTHING RETURNING true",
        hash_admin_token(token),
    )
    return token if inserted else None


async def _create_demo(pool: asyncpg.Pool, redis: RedisClient, now: datetime) -> tuple[UUID, str]:
    uow = PgUnitOfWorkFactory(pool)
    tenant = await tenants.create_tenant(
        name="Demo",
        timezone="UTC",
        now=now,
        uow=uow,
        counters=ResilientCounters(RedisCounterStore(redis)),
    )
    _, key = await tenants.create_key(
        tenant_id=tenant.id,
        spec=tenants.KeySpec(name="demo", scopes=tuple(Scope)),
        now=now,
        uow=uow,
    )
    return tenant.id, key


async def first_start(
    pool: asyncpg.Pool, redis: RedisClient, settings: Settings, *, demo: bool
) -> FirstStart | None:
    """Set up an empty installation; None when it was set up before.

    `demo`: create a demo tenant with an all-scope key in an installation without tenants.
    Only for the embedded servers of a first `make run`: on a server the operator named
    (NPS_DATABASE_URL) such a key would be a standing credential nobody asked for.
    The demo tenant comes first: should anything fail, nothing secret is stored unseen and
    the next start tries again.
    """
    # The lock belongs to a transaction kept open meanwhile (the demo is made on other
    # connections), so it holds behind a pooler in transaction mode too.
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
        tenant_id = api_key = None
        if demo and not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM tenants)"):
            tenant_id, api_key = await _create_demo(pool, redis, datetime.now(UTC))
        admin_token = await _store_admin_token(conn, settings)
    if admin_token is None and api_key is None:
        return None
    return FirstStart(admin_token=admin_token, tenant_id=tenant_id, api_key=api_key)


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
