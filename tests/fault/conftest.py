"""Fixtures of the fault tests: a fresh database reached through a proxy, a private Redis
reached through another, and the app configured with short timeouts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import migrated_database
from tests.fault.proxy import TcpProxy
from tests.integration.redis_server import RedisProcess

# Short bounds keep the suite quick; the defaults are longer (README, "Failure behaviour").
STATEMENT_TIMEOUT_S = 1.0
CONNECT_TIMEOUT_S = 1.0
REDIS_TIMEOUT_S = 1.0  # well above any answer's own time on a busy machine


@pytest.fixture
async def fault_db(server_urls) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    """A fresh migrated database (its URL goes straight to the server)."""
    async with migrated_database(server_urls[0], prefix="nps_fault") as url:
        yield url


@pytest.fixture
def pg_proxy(fault_db: str) -> Iterator[TcpProxy]:
    proxy = TcpProxy.for_url(fault_db).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    server = RedisProcess()
    server.start()
    yield server
    server.close()


@pytest.fixture
def redis_proxy(own_redis: RedisProcess) -> Iterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", own_redis.port).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def fault_settings(settings, fault_db, pg_proxy, own_redis, redis_proxy):  # type: ignore[no-untyped-def]
    """The app's settings: both servers reached through their proxies, short timeouts."""
    return msgspec.structs.replace(
        settings,
        database_url=pg_proxy.url(fault_db),
        redis_url=redis_proxy.url(own_redis.url),
        db_statement_timeout_s=STATEMENT_TIMEOUT_S,
        db_connect_timeout_s=CONNECT_TIMEOUT_S,
        redis_timeout_s=REDIS_TIMEOUT_S,
        redis_retry_s=0.2,
        drain_interval_s=0.2,
    )


@pytest.fixture
async def client(fault_settings):  # type: ignore[no-untyped-def]
    from api.app import create_app

    app = create_app(fault_settings)
    async with AsyncTestClient(app=app, base_url="http://nps.test", timeout=30) as c:
        yield c
