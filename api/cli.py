"""The `nps` command: serve, migrate, tenants, keys, counters, openapi."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from uuid import UUID

import msgspec

from infra.settings import Settings, load_settings

if TYPE_CHECKING:
    import asyncpg

    from infra.redis.client import RedisClient

OPERATOR_STATEMENT_TIMEOUT_S = 600.0
Command = Callable[[argparse.Namespace, Settings], Awaitable[int]]


@contextlib.contextmanager
def servers(settings: Settings) -> Iterator[Settings]:
    """The settings with server URLs: the given ones, or embedded servers started for the block."""
    if not settings.embedded:
        if not settings.database_url or not settings.redis_url:
            raise SystemExit("set both NPS_DATABASE_URL and NPS_REDIS_URL, or neither")
        yield settings
        return
    from infra.embedded import EmbeddedServers

    with EmbeddedServers.start(settings.data_dir) as embedded:
        yield msgspec.structs.replace(
            settings, database_url=embedded.database_url, redis_url=embedded.redis_url
        )


@contextlib.asynccontextmanager
async def connections(settings: Settings) -> AsyncIterator[tuple[asyncpg.Pool, RedisClient]]:
    from infra.postgres.pool import create_pool
    from infra.redis.client import connect_redis

    assert settings.database_url and settings.redis_url
    # Operator commands (rebuild, verify) run long statements on purpose.
    pool = await create_pool(
        settings.database_url,
        size=4,
        connect_timeout=settings.db_connect_timeout_s,
        statement_timeout=OPERATOR_STATEMENT_TIMEOUT_S,
        transaction_pooler=settings.transaction_pooler,
    )
    redis = connect_redis(settings.redis_url, timeout=max(settings.redis_timeout_s, 5.0))
    try:
        yield pool, redis
    finally:
        await redis.aclose()
        await pool.close()


async def migrate_db(settings: Settings) -> list[str]:
    from infra.postgres.migrate import migrate
    from infra.postgres.pool import connect

    assert settings.database_url
    conn = await connect(settings.database_url, transaction_pooler=settings.transaction_pooler)
    try:
        return await migrate(conn)
    finally:
        await conn.close()


async def cmd_migrate(_: argparse.Namespace, settings: Settings) -> int:
    applied = await migrate_db(settings)
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    return 0


async def cmd_tenants_create(args: argparse.Namespace, settings: Settings) -> int:
    from domain.tenants import create_tenant
    from infra.postgres.uow import PgUnitOfWorkFactory
    from infra.redis.counters import RedisCounterStore
    from infra.redis.resilient import ResilientCounters

    async with connections(settings) as (pool, redis):
        tenant = await create_tenant(
            name=args.name,
            timezone=args.timezone,
            now=_now(),
            uow=PgUnitOfWorkFactory(pool),
            counters=ResilientCounters(RedisCounterStore(redis)),
        )
    print(tenant.id)
    return 0


async def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    from domain.model import Scope
    from domain.tenants import KeySpec, create_key
    from infra.postgres.uow import PgUnitOfWorkFactory

    scopes = [Scope(s.strip()) for s in args.scopes.split(",") if s.strip()]
    async with connections(settings) as (pool, _):
        key, text = await create_key(
            tenant_id=UUID(args.tenant),
            spec=KeySpec(name=args.name, scopes=tuple(scopes)),
            now=_now(),
            uow=PgUnitOfWorkFactory(pool),
        )
    print(f"key id: {key.id}\nAPI key (shown once): {text}")
    return 0


async def cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from domain.tenants import revoke_key
    from infra.postgres.uow import PgUnitOfWorkFactory
    from infra.principal_cache import RedisPrincipalCache

    async with connections(settings) as (pool, redis):
        await revoke_key(
            tenant_id=UUID(args.tenant),
            key_id=UUID(args.key),
            uow=PgUnitOfWorkFactory(pool),
            cache=RedisPrincipalCache(redis),
        )
    print("revoked")
    return 0


async def _tenant_ids(pool: asyncpg.Pool, args: argparse.Namespace) -> list[UUID]:
    if args.tenant:
        return [UUID(args.tenant)]
    return [r["id"] for r in await pool.fetch("SELECT id FROM tenants ORDER BY id")]


async def cmd_counters_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0: every counter equals PostgreSQL; 1: a difference; 2: none differs, but some
    tenants' counters are not built yet (their reads come from PostgreSQL meanwhile)."""
    from infra.counter_sync import rebuild
    from infra.counter_sync.verify import verify_report
    from infra.redis.counters import RedisCounterStore

    async with connections(settings) as (pool, redis):
        store = RedisCounterStore(redis)
        tenant_ids = await _tenant_ids(pool, args)
        if args.embedded:  # the embedded Redis keeps nothing: fill it as the service would
            for tenant_id in tenant_ids:
                await rebuild(pool, store, tenant_id, only_if_needed=True)
        report = await verify_report(pool, store, tenant_ids)
    for line in report.differences:
        print(line)
    for tenant_id in report.not_built:
        print(f"tenant {tenant_id}: not built yet (reads come from PostgreSQL)")
    if report.differences:
        print(
            f"{len(report.differences)} difference(s) between Redis and PostgreSQL", file=sys.stderr
        )
        return 1
    if report.not_built:
        print(f"{len(report.not_built)} tenant(s) not built yet", file=sys.stderr)
        return 2
    print("counters match PostgreSQL")
    return 0


async def cmd_counters_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from infra.counter_sync import rebuild
    from infra.redis.counters import RedisCounterStore

    async with connections(settings) as (pool, redis):
        store = RedisCounterStore(redis)
        for tenant_id in await _tenant_ids(pool, args):
            gen = await rebuild(pool, store, tenant_id)
            print(f"{tenant_id}: rebuilt (generation {gen})")
    return 0


def _now() -> datetime:
    return datetime.now(UTC)


def cmd_openapi(args: argparse.Namespace) -> int:
    from api.app import openapi_document

    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(openapi_document())
    print(f"wrote {path}")
    return 0


HANDLERS: dict[str, Command] = {
    "migrate": cmd_migrate,
    "tenants create": cmd_tenants_create,
    "keys create": cmd_keys_create,
    "keys revoke": cmd_keys_revoke,
    "counters verify": cmd_counters_verify,
    "counters rebuild": cmd_counters_rebuild,
}


def _terminated(signum: int, frame: object) -> NoReturn:
    """SIGTERM ends a command like Ctrl-C does: the embedded servers get stopped."""
    raise KeyboardInterrupt


def operate(name: str, args: argparse.Namespace, settings: Settings) -> int:
    """Run one operator command against the configured (or embedded) servers."""
    import structlog

    # stdout carries the command's answer (`id=$(nps tenants create …)`); logs go to stderr.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    args.embedded = settings.embedded
    try:
        with servers(settings) as ready:
            if name != "migrate":
                asyncio.run(migrate_db(ready))
            return asyncio.run(HANDLERS[name](args, ready))
    except Exception as exc:  # a clear line instead of a traceback for operators
        print(f"nps {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, 1 failed or interrupted, 2 usage (argparse) or invalid settings."""
    from api.cli_parser import build_parser
    from api.logging import configure_logging
    from api.serve import serve

    args = build_parser().parse_args(argv)
    if args.command == "openapi":
        return cmd_openapi(args)
    try:
        settings = load_settings()
    except ValueError as exc:
        print(f"nps: {exc}", file=sys.stderr)
        return 2
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    signal.signal(signal.SIGTERM, _terminated)
    name = " ".join(x for x in (args.command, getattr(args, "action", None)) if x)
    try:
        return serve(settings) if name == "serve" else operate(name, args, settings)
    except KeyboardInterrupt:
        print(f"nps {name}: interrupted", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
