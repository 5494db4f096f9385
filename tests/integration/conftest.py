"""Fixtures shared by the integration tests: a webhook receiver on 127.0.0.1 and a pool for
relays, a pool and a counter store, and a throw-away Redis server of the test's own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from infra.postgres.pool import create_pool
from infra.redis.counters import RedisCounterStore
from tests.conftest import POOLED, redis_client
from tests.integration.redis_server import RedisProcess
from tests.integration.webhooks_support import Receiver


@pytest.fixture
async def receiver():  # type: ignore[no-untyped-def]
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture
async def relay_pool(database_url, tenant):  # type: ignore[no-untyped-def]
    """A pool for the relay; the test's endpoints are disabled afterwards (ports get reused)."""
    p = await create_pool(database_url, size=6, transaction_pooler=POOLED)
    yield p
    await p.execute(
        "UPDATE webhook_endpoints SET enabled = false WHERE tenant_id = $1", uuid.UUID(tenant.id)
    )
    await p.close()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, size=4, transaction_pooler=POOLED)
    yield p
    await p.close()


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[RedisCounterStore]:
    r = redis_client(redis_url)
    yield RedisCounterStore(r)
    await r.aclose()


@pytest.fixture
async def own_redis() -> AsyncIterator[RedisProcess]:
    """A Redis server of the test's own, to stop, freeze or restart."""
    server = RedisProcess()
    server.start()
    try:
        yield server
    finally:
        server.close()
