"""Debian's PgBouncer on a free loopback port, in transaction pooling mode, in front of the
test PostgreSQL (`make test-scale`). Installs nothing: the binary must be there."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# Fewer server connections than the service alone opens (its pool holds 10 client
# connections): the suite passing proves that nothing needs a server connection of its own.
POOL_SIZE = 5

CONFIG = """\
[databases]
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
query_wait_timeout = 60
; Any role of the server may log in (the service may create and use roles of its own): the
; server's pg_hba decides, as it does for a direct connection.
auth_type = trust
auth_file = {auth_file}
auth_user = {user}
auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename = $1
admin_users = {user}
{run_as}
"""


def pgbouncer_binary() -> str | None:
    """Debian installs it in /usr/sbin, which is not on every user's PATH."""
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class PgBouncer:
    port: int
    user: str

    def url_for(self, server_url: str) -> str:
        """The same database and role, through the pooler."""
        parts = urlsplit(server_url)
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{self.port}"))

    @property
    def admin_url(self) -> str:
        """PgBouncer's console (SHOW POOLS, SHOW SERVERS): simple queries only."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/pgbouncer"

    @classmethod
    @contextlib.contextmanager
    def start(cls, server_url: str) -> Iterator[PgBouncer]:
        binary = pgbouncer_binary()
        if binary is None:
            raise RuntimeError("pgbouncer is not installed (Debian package 'pgbouncer')")
        server = urlsplit(server_url)
        if not server.hostname:
            raise RuntimeError(f"PgBouncer needs a TCP server URL, not {server_url!r}")
        user = server.username or "postgres"
        port = _free_port()
        with tempfile.TemporaryDirectory(prefix="nps-pgbouncer-") as tmp:
            folder = Path(tmp)
            # PgBouncer refuses to run as root: it switches to nobody, who must read these.
            folder.chmod(0o755)
            auth_file = folder / "users.txt"
            auth_file.write_text(f'"{user}" ""\n')
            config = folder / "pgbouncer.ini"
            config.write_text(
                CONFIG.format(
                    host=server.hostname,
                    port=server.port or 5432,
                    listen_port=port,
                    pool_size=POOL_SIZE,
                    auth_file=auth_file,
                    user=user,
                    run_as="user = nobody" if os.geteuid() == 0 else "",
                )
            )
            auth_file.chmod(0o644)
            config.chmod(0o644)
            log_path = folder / "pgbouncer.log"
            with log_path.open("wb") as log:
                proc = subprocess.Popen([binary, str(config)], stdout=log, stderr=subprocess.STDOUT)
            try:
                _wait_listening(port, proc, log_path)
                yield cls(port=port, user=user)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pgbouncer exited ({proc.returncode}):\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"pgbouncer did not listen on {port} within 15 s:\n{log.read_text()}")
