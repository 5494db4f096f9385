"""Shared fixtures: real PostgreSQL and Redis (the URLs CI gives, or embedded servers)."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from hypothesis import settings as hypothesis_settings

# Property tests check results, not speed: on a busy shared machine an example can take
# longer than hypothesis's default 200 ms deadline, which would fail a correct test.
hypothesis_settings.register_profile("nps", deadline=None)
hypothesis_settings.load_profile("nps")

ADMIN_TOKEN = "test-admin-token"
ALL_SCOPES = ["responses:write", "results:read", "manage"]

# NPS_TEST_POOLER=pgbouncer (make test-scale): the session starts PgBouncer in transaction
# mode in front of NPS_TEST_DATABASE_URL, and every connection of the tests and of the
# service under test goes through it (tests/pgbouncer.py).
_POOLER = os.environ.get("NPS_TEST_POOLER", "")
if _POOLER not in ("", "pgbouncer"):
    raise ValueError(f"NPS_TEST_POOLER must be pgbouncer or unset, not {_POOLER!r}")
POOLED = _POOLER == "pgbouncer"
# What a service started by a test needs to be told about the pooler (it reads NPS_*).
POOLER_ENV = {"NPS_DATABASE_POOLER": "transaction"} if POOLED else {}


@pytest.fixture(scope="session")
def server_urls() -> Iterator[tuple[str, str]]:
    """(PostgreSQL URL of the server, Redis URL): the test servers, or embedded ones.

    NPS_TEST_REDIS_CLUSTER=1 (make test-scale): a Redis Cluster of three masters with a
    replica each, started on loopback ports for the session, instead of NPS_TEST_REDIS_URL."""
    db, redis = os.environ.get("NPS_TEST_DATABASE_URL"), os.environ.get("NPS_TEST_REDIS_URL")
    with contextlib.ExitStack() as stack:
        if os.environ.get("NPS_TEST_REDIS_CLUSTER"):
            from tests.redis_cluster import redis_cluster

            redis = stack.enter_context(redis_cluster()).url
        if POOLED:
            if not db or not redis:
                raise RuntimeError(
                    "NPS_TEST_POOLER needs NPS_TEST_DATABASE_URL and NPS_TEST_REDIS_URL"
                )
            yield stack.enter_context(pgbouncer_in_front(db)), redis
            return
        if db and redis:
            yield db, redis
            return
        from infra.embedded import EmbeddedServers

        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="nps-test-"))
        servers = EmbeddedServers.start(data_dir)
        try:
            yield db or servers.database_url, redis or servers.redis_url
        finally:
            servers.stop()


@contextlib.contextmanager
def pgbouncer_in_front(server_url: str) -> Iterator[str]:
    """The server URL through a PgBouncer started for the session.

    The tests' own asyncpg connections (set-up, assertions) get no statement cache there, as
    the service's do when told about the pooler: a named prepared statement lives on one
    server connection. The service's pools set their cache size explicitly, so this does not
    hide a service connection that would keep one.
    """
    from tests.pgbouncer import PgBouncer

    defaults = asyncpg.connect.__kwdefaults__
    with PgBouncer.start(server_url) as bouncer:
        defaults["statement_cache_size"] = 0
        try:
            yield bouncer.url_for(server_url)
        finally:
            defaults["statement_cache_size"] = 100


def redis_client(url: str):  # type: ignore[no-untyped-def]
    """A client of the session's Redis (one server or a cluster), as the service makes it,
    with timeouts for a busy machine."""
    from infra.redis.client import connect_redis

    return connect_redis(url, timeout=5.0)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def url_database(url: str) -> str:
    """The database name of a URL (embedded URLs carry a socket path in the query)."""
    return urlsplit(url).path.lstrip("/")


@contextlib.asynccontextmanager
async def migrated_database(base: str, prefix: str = "nps_test") -> AsyncIterator[str]:
    """A new database on the server of `base`, migrated, dropped on the way out (with the
    restricted role the service created for it)."""
    from infra.postgres.migrate import migrate
    from infra.postgres.roles import app_role_name

    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(base, name)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    try:
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'DROP ROLE IF EXISTS "{app_role_name(name)}"')
        await admin.close()


@pytest.fixture(scope="session")
async def database_url(server_urls: tuple[str, str]) -> AsyncIterator[str]:
    """A fresh database for this test session, migrated, dropped at the end."""
    async with migrated_database(server_urls[0]) as url:
        if POOLED:
            # The statement limit an operator sets on the role or database behind a pooler
            # (the service cannot send it as a startup parameter there): the default 3 s.
            conn = await asyncpg.connect(url)
            try:
                name = url_database(url)
                await conn.execute(f'ALTER DATABASE "{name}" SET statement_timeout = 3000')
            finally:
                await conn.close()
        yield url


@pytest.fixture(scope="session")
def redis_url(server_urls: tuple[str, str]) -> str:
    return server_urls[1]


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str):  # type: ignore[no-untyped-def]
    from infra.settings import Settings

    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        database_pooler="transaction" if POOLED else "none",
        admin_token=ADMIN_TOKEN,
        log_level="info",
        drain_interval_s=0.2,
        webhook_allow_private=True,  # test receivers listen on 127.0.0.1
        webhook_relay=False,  # webhook tests run the relay themselves (run_once)
        # Limits far above what any test spends (tests of the limits set their own): all
        # test sessions on a shared Redis call from the same address.
        rate_limit_per_key=10_000_000,
        rate_limit_per_tenant=10_000_000,
        auth_failure_limit=10_000_000,
    )


@pytest.fixture(scope="session")
async def app_client(settings):  # type: ignore[no-untyped-def]
    """The app over HTTP (in-process ASGI), with its lifespan: pools, batcher, drainer."""
    from litestar.testing import AsyncTestClient

    from api.app import create_app

    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://nps.test") as client:
        yield client


@pytest.fixture(scope="session")
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass(frozen=True)
class TenantCtx:
    id: str
    key: str
    timezone: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_tenant(
    client,
    admin_headers: dict[str, str],
    *,
    timezone: str = "UTC",  # type: ignore[no-untyped-def]
    scopes: list[str] | None = None,
) -> TenantCtx:
    r = await client.post(
        "/v1/admin/tenants", json={"name": "Acme", "timezone": timezone}, headers=admin_headers
    )
    assert r.status_code == 201, r.text
    tenant_id = r.json()["id"]
    r = await client.post(
        f"/v1/admin/tenants/{tenant_id}/keys",
        json={"name": "test", "scopes": scopes or ALL_SCOPES},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    return TenantCtx(id=tenant_id, key=r.json()["key"], timezone=timezone)


@pytest.fixture
async def tenant(app_client, admin_headers) -> TenantCtx:  # type: ignore[no-untyped-def]
    """A fresh tenant with an all-scopes key, per test."""
    return await make_tenant(app_client, admin_headers)


@pytest.fixture
async def survey_id(app_client, tenant: TenantCtx) -> str:  # type: ignore[no-untyped-def]
    r = await app_client.post(
        "/v1/surveys", json={"name": "Relationship", "kind": "relational"}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def nps_total(client, tenant: TenantCtx) -> int:  # type: ignore[no-untyped-def]
    """How many answers the tenant's NPS counts (all surveys, the default period)."""
    r = await client.get("/v1/nps", headers=tenant.headers)
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


async def post_batch(client, tenant: TenantCtx, items: list[dict]) -> list[str]:  # type: ignore[no-untyped-def]
    """Post answers through the batch endpoint (1000 at a time); returns their ids."""
    ids: list[str] = []
    for start in range(0, len(items), 1000):
        r = await client.post(
            "/v1/responses/batch",
            json={"responses": items[start : start + 1000]},
            headers=tenant.headers,
        )
        assert r.status_code == 200, r.text
        ids += [x["id"] for x in r.json()["results"]]
    return ids


def answers_on(survey: str, day: object, scores: list[int], **segments: str) -> list[dict]:
    """Answers with the given scores at noon UTC of `day` (a date or YYYY-MM-DD), or at the
    current second when that noon is still ahead (today, before noon UTC)."""
    at = datetime.fromisoformat(f"{day}T12:00:00+00:00")
    at = min(at, datetime.now(UTC).replace(microsecond=0))
    return [
        {
            "survey_id": survey,
            "score": s,
            "answered_at": at.isoformat(),
            "segments": segments,
        }
        for s in scores
    ]


async def verify_tenant(database_url: str, redis_url: str, tenant_id: str) -> list[str]:
    """`nps counters verify` for one tenant, over fresh connections."""
    import uuid

    from infra.counter_sync import verify
    from infra.postgres.pool import create_pool
    from infra.redis.counters import RedisCounterStore

    pool = await create_pool(database_url, size=2, transaction_pooler=POOLED)
    r = redis_client(redis_url)
    try:
        return await verify(pool, RedisCounterStore(r), [uuid.UUID(tenant_id)])
    finally:
        await r.aclose()
        await pool.close()
