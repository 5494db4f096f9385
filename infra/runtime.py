"""The running service: pools, counter store, batcher, drainer and webhook relay, opened once."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

import asyncpg
import structlog

from infra.counter_sync import OutboxDrainer
from infra.counter_sync.keeper import CounterKeeper
from infra.followup_deadlines import announce_overdue_followups
from infra.ingest import IngestBatcher
from infra.postgres.decisions import TargetCache
from infra.postgres.idempotency import purge_expired
from infra.postgres.pool import close_pool, create_pool
from infra.postgres.roles import app_login, check_pool_restricted
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.principal_cache import RedisPrincipalCache
from infra.redis.breaker import RedisBreaker
from infra.redis.client import RedisClient, Subscriber, connect_redis, connect_subscriber, ping
from infra.redis.counters import RedisCounterStore
from infra.redis.ratelimit import Clock, RedisRateLimiter
from infra.redis.resilient import CounterBacklog, ResilientCounters
from infra.retention import run_retention
from infra.settings import Settings
from infra.tasks import stop
from infra.webhooks.relay import WebhookRelay
from infra.webhooks.targets import DnsTargetGuard

log = structlog.get_logger(__name__)
HEALTH_CHECK_S = 0.5  # each readiness check (both run at once: /health/ready within 1 s)


class MissingAdminToken(RuntimeError):
    pass


@dataclass(kw_only=True)
class Runtime:
    pool: asyncpg.Pool  # the owner's: work that spans tenants
    tenant_pool: asyncpg.Pool  # the restricted role's: uow(tenant_id), under row-level security
    redis: RedisClient
    store: RedisCounterStore
    counters: ResilientCounters
    batcher: IngestBatcher
    admin_token_hash: bytes
    principals: RedisPrincipalCache
    target_cache: TargetCache
    relay: WebhookRelay
    jobs: PgUnitOfWorkFactory  # the units of work of background jobs (some across tenants)
    webhook_targets: DnsTargetGuard
    limiter: RedisRateLimiter
    breaker: RedisBreaker
    keeper: CounterKeeper
    backlog: CounterBacklog

    def schedule_rebuild(self, tenant_id: UUID) -> None:
        """Rebuild a tenant's counters in the background (see CounterKeeper)."""
        self.keeper.schedule(tenant_id)

    async def database_up(self) -> bool:
        """SELECT 1 answered within HEALTH_CHECK_S (a pooled connection included)."""
        try:
            async with asyncio.timeout(HEALTH_CHECK_S):
                await self.pool.fetchval("SELECT 1", timeout=HEALTH_CHECK_S)
            return True
        except Exception:
            return False

    async def redis_up(self) -> bool:
        if not self.breaker.available:
            return False  # no need to wait for it: the breaker's probe sees it come back
        try:
            async with asyncio.timeout(HEALTH_CHECK_S):
                return await ping(self.redis)
        except Exception:
            return False


async def purge_idempotency_keys(pool: asyncpg.Pool, *, every_s: float = 600.0) -> None:
    """Forget Idempotency-Keys past their keeping time, every ten minutes."""
    while True:
        try:
            removed = await purge_expired(pool)
            if removed:
                log.info("idempotency_keys_purged", count=removed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the next round tries again
            log.warning("idempotency_purge_failed", error=type(exc).__name__)
        await asyncio.sleep(every_s)


async def admin_token_hash(pool: asyncpg.Pool, settings: Settings) -> bytes:
    if settings.admin_token:
        return hashlib.sha256(settings.admin_token.encode()).digest()
    stored = await pool.fetchval(
        "SELECT secret_hash FROM service_secrets WHERE name = 'admin_token'"
    )
    if stored is None:
        raise MissingAdminToken("no admin token: set NPS_ADMIN_TOKEN or start with `nps serve`")
    return bytes(stored)


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings, *, rate_clock: Clock | None = None
) -> AsyncIterator[Runtime]:
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("NPS_DATABASE_URL and NPS_REDIS_URL must be set (nps serve sets them)")
    pool = await create_pool(
        settings.database_url,
        size=settings.db_pool_size,
        connect_timeout=settings.db_connect_timeout_s,
        statement_timeout=settings.db_statement_timeout_s,
        transaction_pooler=settings.transaction_pooler,
    )
    try:
        tenant_pool = await open_tenant_pool(pool, settings)
    except BaseException:
        await pool.close()
        raise
    redis = connect_redis(settings.redis_url, timeout=settings.redis_timeout_s)
    listener = connect_subscriber(settings.redis_url, redis, timeout=settings.redis_timeout_s)
    runtime: Runtime | None = None
    try:
        runtime = await build_runtime(
            pool,
            redis,
            settings,
            tenant_pool=tenant_pool,
            listener=listener,
            rate_clock=rate_clock,
        )
        # Answers a process that died committed but did not apply wait in the outbox with
        # no mark: mark them before serving, so that no read misses them.
        await runtime.backlog.mark_on_start()
        drainer = OutboxDrainer(
            pool, runtime.store, interval=settings.drain_interval_s, breaker=runtime.breaker
        )
        tasks = [
            asyncio.create_task(drainer.run()),
            asyncio.create_task(runtime.keeper.run()),
            asyncio.create_task(runtime.principals.listen()),
            asyncio.create_task(purge_idempotency_keys(pool)),
            asyncio.create_task(announce_overdue_followups(runtime.jobs, runtime.relay)),
            asyncio.create_task(run_retention(runtime.jobs)),
        ]
        if settings.webhook_relay:
            tasks.append(asyncio.create_task(runtime.relay.run()))
        try:
            yield runtime
        finally:
            runtime.principals.stop()
            # A blocked pub/sub read can swallow its cancellation (redis-py): closing its
            # connection ends it; the wait is bounded all the same.
            await listener.aclose()
            await stop(tasks)
            await runtime.batcher.close()
            await runtime.limiter.close()
            await runtime.store.close()
    finally:
        if runtime is not None:
            await runtime.keeper.close()
            await runtime.breaker.close()
        await listener.aclose()
        await redis.aclose()
        await close_pool(tenant_pool)
        await close_pool(pool)


async def open_tenant_pool(pool: asyncpg.Pool, settings: Settings) -> asyncpg.Pool:
    """The restricted role's pool: NPS_DATABASE_APP_URL's, or the role the owner creates."""
    assert settings.database_url
    url, login = settings.database_url, dict[str, str | None]()
    if settings.database_app_url:
        url = settings.database_app_url
    else:
        app = await app_login(pool, statement_timeout_s=settings.db_statement_timeout_s)
        login = {"user": app.user, "password": app.password}
    tenant_pool = await create_pool(
        url,
        size=settings.db_pool_size,
        connect_timeout=settings.db_connect_timeout_s,
        statement_timeout=settings.db_statement_timeout_s,
        transaction_pooler=settings.transaction_pooler,
        **login,
    )
    try:
        await check_pool_restricted(tenant_pool)
    except BaseException:
        await tenant_pool.close()
        raise
    return tenant_pool


async def build_runtime(
    pool: asyncpg.Pool,
    redis: RedisClient,
    settings: Settings,
    *,
    tenant_pool: asyncpg.Pool | None = None,
    listener: Subscriber | None = None,
    limiter: RedisRateLimiter | None = None,
    rate_clock: Clock | None = None,
) -> Runtime:
    """`tenant_pool`: the restricted role's (the owner's `pool` when not given)."""
    holder: list[Runtime] = []
    store = RedisCounterStore(redis, on_rebuild_needed=lambda t: holder[0].schedule_rebuild(t))
    jobs = PgUnitOfWorkFactory(pool)
    relay = WebhookRelay(jobs, allow_private=settings.webhook_allow_private)
    breaker = RedisBreaker(
        redis, retry_s=settings.redis_retry_s, timeout_s=settings.redis_timeout_s
    )
    backlog = CounterBacklog(store, breaker, pool=pool)
    runtime = Runtime(
        pool=pool,
        tenant_pool=tenant_pool or pool,
        redis=redis,
        store=store,
        breaker=breaker,
        keeper=CounterKeeper(
            pool,
            store,
            breaker=breaker,
            concurrency=settings.rebuild_concurrency,
            interval=settings.drain_interval_s,
        ),
        backlog=backlog,
        counters=ResilientCounters(store, breaker=breaker, backlog=backlog),
        batcher=IngestBatcher(
            pool,
            store,
            max_rows=settings.ingest_max_rows,
            max_concurrent=settings.ingest_max_concurrent_flushes,
            on_events=relay.notify,
            deadline_s=settings.db_statement_timeout_s,
            breaker=breaker,
            backlog=backlog,
        ),
        admin_token_hash=await admin_token_hash(pool, settings),
        principals=RedisPrincipalCache(redis, listener=listener),
        target_cache=TargetCache(),
        relay=relay,
        jobs=jobs,
        webhook_targets=DnsTargetGuard(allow_private=settings.webhook_allow_private),
        limiter=limiter
        or RedisRateLimiter(
            redis, clock=rate_clock, retry_s=settings.redis_retry_s, breaker=breaker
        ),
    )
    holder.append(runtime)
    return runtime
