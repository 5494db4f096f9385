"""The real API server (`nps serve`, granian) on a free loopback port, for e2e and browser tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import ADMIN_TOKEN, POOLER_ENV

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"  # kept after the run (gitignored)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    log_path: Path
    admin_headers: dict[str, str]

    def log_text(self) -> str:
        """Everything the server wrote so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited ({proc.returncode}):\n{log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"the server was not ready in {timeout_s} s:\n{log.read_text()}")


@contextlib.contextmanager
def start_api_server(
    database_url: str, redis_url: str, log_path: Path, **settings: str
) -> Iterator[LiveServer]:
    """`nps serve` against the given servers, one worker, admin token ADMIN_TOKEN.

    `settings` are extra NPS_* values by field name (`drain_interval_s="0.2"`); stdout and
    stderr go to `log_path`. Stopped with SIGTERM (SIGKILL after 15 s) on the way out.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NPS_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "NPS_DATABASE_URL": database_url,
        "NPS_REDIS_URL": redis_url,
        "NPS_ADMIN_TOKEN": ADMIN_TOKEN,
        "NPS_PORT": str(port),
        "NPS_WORKERS": "1",
    } | POOLER_ENV
    env |= {f"NPS_{k.upper()}": v for k, v in settings.items()}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc, log_path, timeout_s=60)
        yield LiveServer(
            base_url=base,
            log_path=log_path,
            admin_headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
