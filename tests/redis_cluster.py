"""A throw-away Redis Cluster on loopback: three masters with one replica each.

Started by the cluster suite (`make test-scale`) and by the failover test; every node keeps
nothing on disk and runs in its own directory under a temporary one, removed on close.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import redis

from tests.integration.redis_server import free_port, redis_server_binary

MASTERS = 3
NODE_TIMEOUT_MS = 1000  # a stopped master is failed over within a few seconds


class RedisClusterProcesses:
    """Six redis-server processes in cluster mode, joined by `redis-cli --cluster create`."""

    def __init__(self) -> None:
        self.ports = [_client_port() for _ in range(MASTERS * 2)]
        self._dir = tempfile.mkdtemp(prefix="nps-cluster-")
        self._procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """The service's cluster URL (every node as a seed)."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def start(self) -> None:
        for port in self.ports:
            node_dir = os.path.join(self._dir, str(port))
            os.mkdir(node_dir)
            self._procs[port] = subprocess.Popen(
                [
                    redis_server_binary(),
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-port", str(free_port()),
                    "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", node_dir,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        for port in self.ports:
            _wait_for(lambda p=port: redis.Redis(host="127.0.0.1", port=p).ping())
        cli = shutil.which("redis-cli") or "redis-cli"
        nodes = [f"127.0.0.1:{p}" for p in self.ports]
        subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "1", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )
        for port in self.ports:
            _wait_for(lambda p=port: _cluster_ok(p) and _synced(p), timeout=60)

    def masters(self) -> list[int]:
        """The ports of the nodes that are masters now."""
        return [p for p in self.ports if p in self._procs and _role(p) == "master"]

    def master_of(self, key: str) -> int:
        """The port of the master serving `key`'s slot now."""
        client = redis.RedisCluster(host="127.0.0.1", port=self.masters()[0])
        try:
            return int(client.get_node_from_key(key).port)
        finally:
            client.close()

    def replica_of(self, master_port: int) -> int:
        with contextlib.closing(redis.Redis(host="127.0.0.1", port=master_port)) as client:
            info = client.info("replication")
        return int(info["slave0"]["port"])

    def freeze(self, port: int) -> None:
        """Stop a node without closing its sockets (a hung machine), until `thaw`."""
        os.kill(self._procs[port].pid, signal.SIGSTOP)

    def thaw(self, port: int) -> None:
        os.kill(self._procs[port].pid, signal.SIGCONT)

    def close(self) -> None:
        for proc in self._procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)  # a frozen node cannot act on SIGTERM
            proc.terminate()
        for proc in self._procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self._procs.clear()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextlib.contextmanager
def redis_cluster() -> Iterator[RedisClusterProcesses]:
    cluster = RedisClusterProcesses()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


def _client_port() -> int:
    """A free loopback port of at most 55535 (redis-server refuses a higher one in cluster
    mode, even with its bus on another port)."""
    while True:
        port = random.randint(20_000, 55_535)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _role(port: int) -> str:
    with contextlib.closing(redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)) as client:
        return str(client.info("replication")["role"])


def _cluster_ok(port: int) -> bool:
    with contextlib.closing(redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)) as client:
        info = client.cluster("info")
    return bool(info.get("cluster_state") == "ok")


def _synced(port: int) -> bool:
    """A master, or a replica whose link to its master is up."""
    with contextlib.closing(redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)) as client:
        info = client.info("replication")
    return info["role"] == "master" or info.get("master_link_status") == "up"


def _wait_for(check, *, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (redis.ConnectionError, redis.TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the Redis cluster did not come up")
        time.sleep(0.1)
