"""The restricted login role the service serves tenants through (row-level security).

`NPS_DATABASE_URL` names the tables' owner (or a superuser): migrations and the work that
spans tenants run as it. Tenant work runs as a second role, which owns nothing, cannot
bypass row-level security and may only read and write the tenant tables (migration 018
gives it the rows of the tenant its transaction set, nothing else). Unless
`NPS_DATABASE_APP_URL` names that role, the service creates it itself, once per database:

- its name is the database's name with `_app` (roles are global to a server: one per
  database keeps installations, and test databases, apart);
- its password is random, kept in `service_secrets` (which only the owner can read) and
  read again by every process at start: it works with trust, peer or password
  authentication alike, provided pg_hba lets the role connect where the owner does;
- creation and grants run under an advisory lock, so processes starting together agree.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import asyncpg

_LOCK_ID = 0x6E70730002  # role set-up: one process at a time per database
_SECRET = "app_role_password"
# The tenant tables: every table with a tenant_id column, and tenants itself.
_TENANT_TABLES = """
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
  AND (c.relname = 'tenants' OR EXISTS (
      SELECT 1 FROM pg_attribute a
      WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
ORDER BY 1
"""


class UnsafeAppRole(RuntimeError):
    """The role tenant work would run as could see other tenants' rows."""


class CannotCreateAppRole(RuntimeError):
    """The owner's role may not create roles, and no NPS_DATABASE_APP_URL was given."""


@dataclass(frozen=True, kw_only=True)
class AppLogin:
    """How the tenant pool logs in: asyncpg's user and password, over the owner's URL."""

    user: str
    password: str | None


def app_role_name(database: str) -> str:
    """`<database>_app`, within PostgreSQL's 63 bytes (a hash keeps long names apart)."""
    name = f"{database}_app"
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha256(database.encode()).hexdigest()[:8]
    return f"{database.encode()[:46].decode(errors='ignore')}_{digest}_app"


async def tenant_tables(conn: asyncpg.Connection) -> list[str]:
    return [r["relname"] for r in await conn.fetch(_TENANT_TABLES)]


async def _password(conn: asyncpg.Connection) -> tuple[str, bool]:
    """The stored password (created now when missing) and whether it is new."""
    fresh = secrets.token_urlsafe(32)
    inserted = await conn.fetchval(
        "INSERT INTO service_secrets (name, secret_hash) VALUES ($1, $2)"
        " ON CONFLICT (name) DO NOTHING RETURNING true",
        _SECRET,
        fresh.encode(),
    )
    if inserted:
        return fresh, True
    stored = await conn.fetchval("SELECT secret_hash FROM service_secrets WHERE name = $1", _SECRET)
    return bytes(stored).decode(), False


async def ensure_app_role(
    conn: asyncpg.Connection, *, statement_timeout_s: float | None = None
) -> AppLogin:
    """Create (or bring up to date) the restricted role of this database; its login.

    `statement_timeout_s` becomes the role's own default: behind a transaction pooler no
    startup parameter carries it (a connection's own setting overrides it otherwise)."""
    database = await conn.fetchval("SELECT current_database()")
    role = app_role_name(database)
    quoted = _quote(role)
    async with conn.transaction():
        # A transaction-level lock: nothing outlives the transaction (a pooler may lend the
        # next one another server connection).
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
        password, new = await _password(conn)
        exists = await conn.fetchval("SELECT true FROM pg_roles WHERE rolname = $1", role)
        literal = "'" + password.replace("'", "''") + "'"
        if not exists:
            try:
                await conn.execute(
                    f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB"
                    f" NOCREATEROLE NOINHERIT PASSWORD {literal}"
                )
            except asyncpg.InsufficientPrivilegeError as exc:
                raise CannotCreateAppRole(
                    f"the role of NPS_DATABASE_URL may not create the role {role}: grant it"
                    " CREATEROLE, or create a restricted role and name it in NPS_DATABASE_APP_URL"
                ) from exc
        elif new:
            await conn.execute(f"ALTER ROLE {quoted} PASSWORD {literal}")
        await conn.execute(f"GRANT CONNECT ON DATABASE {_quote(database)} TO {quoted}")
        await conn.execute(f"GRANT USAGE ON SCHEMA {await _schema(conn)} TO {quoted}")
        tables = ", ".join(_quote(t) for t in await tenant_tables(conn))
        await conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {quoted}")
        if statement_timeout_s is not None:
            ms = int(statement_timeout_s * 1000)
            await conn.execute(f"ALTER ROLE {quoted} SET statement_timeout = {ms}")
    return AppLogin(user=role, password=password)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _schema(conn: asyncpg.Connection) -> str:
    schema: str = await conn.fetchval("SELECT quote_ident(current_schema())")
    return schema


async def check_restricted(conn: asyncpg.Connection) -> None:
    """Refuse a tenant connection whose role could reach other tenants' rows."""
    row = await conn.fetchrow(
        "SELECT r.rolsuper, r.rolbypassrls, EXISTS (SELECT 1 FROM pg_class c"
        "  WHERE c.relowner = r.oid AND c.relnamespace = current_schema()::regnamespace)"
        "  AS owns FROM pg_roles r WHERE r.rolname = current_user"
    )
    if row["rolsuper"] or row["rolbypassrls"] or row["owns"]:
        raise UnsafeAppRole(
            "the role tenant work runs as is a superuser, bypasses row-level security or owns"
            " tables: NPS_DATABASE_APP_URL must name a restricted role"
        )


async def app_login(pool: asyncpg.Pool, *, statement_timeout_s: float | None = None) -> AppLogin:
    """ensure_app_role on a connection of the owner's pool (at start, before any request)."""
    async with pool.acquire() as conn:
        return await ensure_app_role(conn, statement_timeout_s=statement_timeout_s)


async def check_pool_restricted(pool: asyncpg.Pool) -> None:
    """check_restricted on a connection of the tenant pool (at start, before any request)."""
    async with pool.acquire() as conn:
        await check_restricted(conn)
