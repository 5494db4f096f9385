"""Redis Cluster failures: a master stopped under load, a pub/sub node stopped.

Each test starts its own cluster (three masters, one replica each, on loopback ports) and
stops one node with SIGSTOP, as a hung machine: its sockets stay open and say nothing, so
the cluster fails it over after its node timeout (1 s here) and clients must time out.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import msgspec
import pytest
import redis
from litestar.testing import AsyncTestClient

from api.app import create_app
from infra.postgres.pool import create_pool
from infra.principal_cache import RedisPrincipalCache
from infra.redis import layout
from infra.redis.client import NodeSubscriber, connect_redis, connect_subscriber
from tests.conftest import make_tenant, migrated_database, nps_total, verify_tenant
from tests.integration.test_principal_cache import _key, _put
from tests.redis_cluster import RedisClusterProcesses, redis_cluster

WRITERS = 8
PER_WRITER = 500  # bounded load: at most 4,000 answers, posted one by one, paced
PACE_S = 0.02
AROUND_FAILURE = 60  # answers acknowledged before the master stops, and after Redis is back
WAIT_S = 90.0  # the bound of every wait below (a busy machine is slow, never this slow)


@pytest.fixture
def cluster() -> Iterator[RedisClusterProcesses]:
    with redis_cluster() as c:
        yield c


@pytest.fixture
async def own_database(server_urls: tuple[str, str]) -> AsyncIterator[str]:
    """A database of this test's own: the session's instances (on the session's Redis)
    drain every tenant's outbox of their database, which would take this test's rows."""
    async with migrated_database(server_urls[0], prefix="nps_failover") as url:
        yield url


@contextlib.asynccontextmanager
async def two_instances(
    settings, url: str
) -> AsyncIterator[tuple[AsyncTestClient, AsyncTestClient]]:  # type: ignore[no-untyped-def]
    running = msgspec.structs.replace(
        settings, redis_url=url, drain_interval_s=0.2, redis_timeout_s=1.0
    )
    async with (
        AsyncTestClient(app=create_app(running), base_url="http://a.test") as a,
        AsyncTestClient(app=create_app(running), base_url="http://b.test") as b,
    ):
        yield a, b


def _is_master(port: int) -> bool:
    with contextlib.closing(redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)) as r:
        return bool(r.info("replication")["role"] == "master")


async def _until(check, what: str) -> None:  # type: ignore[no-untyped-def]
    try:
        async with asyncio.timeout(WAIT_S):
            while not await check():  # noqa: ASYNC110 (a server's state, polled)
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"not within {WAIT_S} s: {what}") from None


async def test_a_stopped_master_loses_no_acknowledged_answer_and_reads_are_exact_after(
    cluster, settings, admin_headers, own_database
) -> None:
    database_url = own_database
    settings = msgspec.structs.replace(settings, database_url=database_url)
    async with two_instances(settings, cluster.url) as (a, b):
        tenant = await make_tenant(a, admin_headers)
        r = await a.post(
            "/v1/surveys", json={"name": "S", "kind": "relational"}, headers=tenant.headers
        )
        survey = r.json()["id"]
        meta = layout.meta_key(uuid.UUID(tenant.id))
        master = cluster.master_of(meta)
        replica = cluster.replica_of(master)
        acked: list[str] = []
        refused: list[int] = []
        stop = asyncio.Event()

        async def writer(i: int) -> None:
            for n in range(PER_WRITER):
                if stop.is_set():
                    return
                r = await (a, b)[(i + n) % 2].post(
                    "/v1/responses",
                    json={"survey_id": survey, "score": (i + n) % 11},
                    headers=tenant.headers,
                )
                if r.status_code == 201:
                    acked.append(r.json()["id"])
                else:  # not acknowledged: a client would retry it
                    assert r.status_code == 503, r.text
                    refused.append(r.status_code)
                await asyncio.sleep(PACE_S)

        def redis_used() -> bool:  # both instances call Redis again (their breakers closed)
            return all(c.app.state.runtime.breaker.available for c in (a, b))

        writers = asyncio.gather(*(writer(i) for i in range(WRITERS)))
        try:
            await _until(lambda: _true(len(acked) >= AROUND_FAILURE), "answers before")
            cluster.freeze(master)
            await _until(lambda: asyncio.to_thread(_is_master, replica), "replica promoted")
            await _until(lambda: _true(redis_used()), "Redis used again")
            after = len(acked) + AROUND_FAILURE
            await _until(lambda: _true(len(acked) >= after), "answers after")
            assert not writers.done()  # answers went on all along
            stop.set()
            async with asyncio.timeout(WAIT_S):
                await writers
        finally:
            writers.cancel()
            with contextlib.suppress(BaseException):
                await writers

        pool = await create_pool(database_url, size=2)
        try:
            stored = await pool.fetchval(
                "SELECT count(*) FROM responses WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
                uuid.UUID(tenant.id),
                [uuid.UUID(x) for x in acked],
            )
            total = await pool.fetchval(
                "SELECT count(*) FROM responses WHERE tenant_id = $1", uuid.UUID(tenant.id)
            )
        finally:
            await pool.close()
        assert stored == len(acked)  # every acknowledged answer is stored
        assert total >= len(acked)  # a 503 may have been stored all the same (README)

        # The counters serve reads again (ready, not behind) and equal PostgreSQL.
        rds = connect_redis(cluster.url, timeout=5.0)
        try:

            async def counters_serve() -> bool:
                state, behind = await rds.hmget(meta, ["state", "behind"])
                return state == b"ready" and behind is None

            await _until(counters_serve, "counters ready and not behind")
        finally:
            await rds.aclose()
        assert await verify_tenant(database_url, cluster.url, tenant.id) == []
        assert await nps_total(a, tenant) == total == await nps_total(b, tenant)


async def _true(value: bool) -> bool:
    return value


async def test_a_revocation_reaches_a_process_whose_pubsub_node_stopped(cluster) -> None:
    """Caches that forget nothing by time (an hour): only the message can evict."""
    client = connect_redis(cluster.url, timeout=5.0)
    subscriber = connect_subscriber(cluster.url, client, timeout=5.0)
    assert isinstance(subscriber, NodeSubscriber)
    sender = RedisPrincipalCache(client, ttl=3600)
    receiver = RedisPrincipalCache(client, listener=subscriber, ttl=3600)
    listening = asyncio.create_task(receiver.listen())
    try:
        await _until(lambda: _true(subscriber.node is not None), "subscribed")
        assert subscriber.node is not None
        stopped = subscriber.node[1]
        cluster.freeze(stopped)  # a master (then failed over) or a replica: one node only
        token, principal = _key()
        await _until(
            lambda: _true(subscriber.node is not None and subscriber.node[1] != stopped),
            "listening on another node",
        )
        await asyncio.sleep(0.5)  # its subscription is confirmed by then; a miss is retried below
        _put(receiver, token, principal)

        async def evicted() -> bool:
            await sender.revoked(tenant_id=principal.tenant_id, key_id=principal.key_id)
            return receiver.get(token) is None

        await _until(evicted, "the revocation received")
    finally:
        receiver.stop()
        listening.cancel()
        with contextlib.suppress(BaseException):
            await listening
        await subscriber.aclose()
        await client.aclose()
