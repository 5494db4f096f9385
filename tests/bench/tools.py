"""Benchmark plumbing: the server under test, wrk runs, process memory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
WRK_DIR = Path(__file__).parent / "wrk"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """granian serving tests.bench.app:bench_app, exactly as `nps serve` runs the API."""

    def __init__(
        self, env: dict[str, str], *, workers: int = 1, target: str = "tests.bench.app:bench_app"
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--log-level",
            "warning",
            target,
        ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=os.environ | env | {"PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the benchmark server did not become ready")

    def worker_rss(self) -> int:
        """Resident memory of the worker processes (bytes)."""
        children = psutil.Process(self.proc.pid).children(recursive=True)
        return sum(p.memory_info().rss for p in children) or self.proc.memory_info().rss

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "errors": self.errors,
            "requests": self.requests,
        }


def combined(loads: Sequence[Load]) -> Load:
    """Several runs of one case as one: their requests over their total time; p50 and p99
    are weighted by requests (percentiles of separate runs do not combine exactly)."""
    requests = sum(x.requests for x in loads)
    seconds = sum(x.requests / x.rps for x in loads if x.rps)
    return Load(
        rps=requests / seconds if seconds else 0.0,
        p50_ms=sum(x.p50_ms * x.requests for x in loads) / max(requests, 1),
        p99_ms=sum(x.p99_ms * x.requests for x in loads) / max(requests, 1),
        errors=sum(x.errors for x in loads),
        requests=requests,
    )


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is needed: `apt-get install wrk` (make bench installs it)")
    return found


def wrk(
    url: str,
    script: str,
    *,
    seconds: float,
    connections: int = 64,
    env: dict[str, str] | None = None,
    threads: int = 2,
) -> Load:
    """Run wrk in its own process against url; parse the JSON line our done() prints."""
    cmd = [
        wrk_binary(),
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_DIR / script),
        url,
    ]
    full_env = os.environ | (env or {}) | {"NPS_BENCH_DONE": str(WRK_DIR / "done.lua")}
    out = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    return Load(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["status_errors"] + data["socket_errors"],
        requests=data["requests"],
    )
