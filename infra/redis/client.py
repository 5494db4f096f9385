"""The service's Redis client: one server, or a Redis Cluster, chosen by the URL's scheme.

    redis://host:6379/0, rediss://…, unix://…         one server (redis-py's Redis)
    redis+cluster://[user:pass@]host:port[,host:port…]  a cluster (redis-py's RedisCluster);
    rediss+cluster://…                                 the same over TLS

The cluster's seed nodes are only where discovery starts: the client learns every master
and replica from them, follows MOVED/ASK redirections and reads the layout again after a
failover. Every Lua script names keys of one hash tag (`{tenant}`, or `{ip:<address>}`
for the per-address throttle), so each call runs on the one master of that slot; keys
outside any tenant (`nps:counters:behind`, `nps:counters:alive`) are used one command at
a time. A SCAN goes to every master.

Pub/sub: a cluster forwards every PUBLISH to all its nodes, so a subscriber listens on a
plain connection to any one node (`NodeSubscriber`) and moves to the next node when that
one stops answering (its listener pings it).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias
from urllib.parse import unquote

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

RedisClient: TypeAlias = aioredis.Redis | RedisCluster
_CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}  # scheme -> TLS


@dataclass(frozen=True, kw_only=True)
class ClusterUrl:
    nodes: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = None
    ssl: bool = False


def parse_cluster_url(url: str) -> ClusterUrl | None:
    """The seed nodes and credentials of a cluster URL; None for a one-server URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in _CLUSTER_SCHEMES:
        return None
    netloc = rest.split("/", 1)[0].split("?", 1)[0]
    userinfo, _, hosts = netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    nodes = []
    for host_port in hosts.split(","):
        host, _, port = host_port.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"a cluster URL names nodes as host:port, not {host_port!r}")
        nodes.append((host.strip("[]"), int(port)))
    return ClusterUrl(
        nodes=tuple(nodes),
        username=unquote(username) or None,
        password=unquote(password) or None,
        ssl=_CLUSTER_SCHEMES[scheme.lower()],
    )


def connect_redis(url: str, *, timeout: float = 0.5) -> RedisClient:
    """Short timeouts: a Redis outage must degrade requests, not hang them.

    One immediate retry on a broken connection (a pooled one the server closed), none on a
    timeout: redis-py's default of three retries with backoff made one call to a frozen
    Redis take over 2 s before the breaker could open (measured in the fault suite). A
    cluster client does not retry either: after a failed call it reads the cluster's
    layout again before its next one, which finds a promoted replica."""
    cluster = parse_cluster_url(url)
    if cluster is None:
        return aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=10,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
        )
    return RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in cluster.nodes],
        username=cluster.username,
        password=cluster.password,
        ssl=cluster.ssl,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=10,
        retry=Retry(NoBackoff(), 0),
    )


async def ping(client: RedisClient) -> bool:
    """Redis answers: the server, or every master of a cluster (each holds some tenants)."""
    if isinstance(client, RedisCluster):
        return bool(await client.ping(target_nodes=RedisCluster.PRIMARIES))
    return bool(await client.ping())


class Subscriber(Protocol):
    """Where pub/sub listens: `pubsub()` gives a fresh subscription connection."""

    def pubsub(self) -> PubSub: ...

    async def aclose(self) -> None: ...


class NodeSubscriber:
    """Pub/sub on a cluster: each `pubsub()` connects to the next node the cluster client
    knows (masters and replicas), so a listener whose node stopped answering moves on."""

    def __init__(self, cluster: RedisCluster, seeds: ClusterUrl, **kwargs: Any) -> None:
        self._cluster = cluster
        self._seeds = seeds
        self._kwargs = kwargs
        self._turn = itertools.count()
        self._client: aioredis.Redis | None = None

    @property
    def node(self) -> tuple[str, int] | None:
        """The node the latest subscription listens on."""
        if self._client is None:
            return None
        kwargs = self._client.connection_pool.connection_kwargs
        return str(kwargs["host"]), int(kwargs["port"])

    def _nodes(self) -> list[tuple[str, int]]:
        known = sorted({(n.host, int(n.port)) for n in self._cluster.get_nodes()})
        return known or list(self._seeds.nodes)

    def pubsub(self) -> PubSub:
        nodes = self._nodes()
        host, port = nodes[next(self._turn) % len(nodes)]
        # The previous node's client had one connection, its subscription's, closed when
        # the listener left it.
        self._client = aioredis.Redis(
            host=host,
            port=port,
            username=self._seeds.username,
            password=self._seeds.password,
            ssl=self._seeds.ssl,
            **self._kwargs,
        )
        return self._client.pubsub()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def connect_subscriber(url: str, client: RedisClient, *, timeout: float = 0.5) -> Subscriber:
    """A client for pub/sub: no read timeout (a subscription waits for messages)."""
    kwargs: dict[str, Any] = {"socket_connect_timeout": timeout, "health_check_interval": 10}
    cluster = parse_cluster_url(url)
    if cluster is None or not isinstance(client, RedisCluster):
        return aioredis.Redis.from_url(url, **kwargs)
    return NodeSubscriber(client, cluster, **kwargs)
