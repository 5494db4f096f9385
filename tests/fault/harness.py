"""A real API process behind the fault proxies, and a bounded concurrent load against it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.integration.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


class ApiProcess:
    """granian serving the API (one worker), as `nps serve` runs it; killable with SIGKILL."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ApiProcess:
        cmd = [
            sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
            "--log-level", "warning", "api.app:app_from_env",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=os.environ | self.env | {"PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its worker dies with it on kill()
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health/ready", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError("the API did not become ready")

    def kill(self) -> None:
        """SIGKILL to the server and its worker: nothing is finished or flushed."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class LoadResult:
    acked: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> answer id
    unavailable: list[tuple[str, dict[str, object], float, str]] = field(default_factory=list)
    other: list[tuple[int, str]] = field(default_factory=list)  # anything else: a failure
    slowest_503_s: float = 0.0
    requests: int = 0
    acked_at: list[float] = field(default_factory=list)  # monotonic time of each 201

    def acked_between(self, start: float, end: float) -> float:
        """Answers acknowledged per second between two monotonic times."""
        return sum(start <= t < end for t in self.acked_at) / (end - start)


async def post_load(
    base: str,
    key: str,
    survey_id: str,
    *,
    seconds: float,
    concurrency: int = 16,
    result: LoadResult | None = None,
    stop: asyncio.Event | None = None,
) -> LoadResult:
    """POST answers with unique Idempotency-Keys from `concurrency` clients for `seconds`
    (or until `stop` is set), counting into `result` (a new one by default)."""
    result = LoadResult() if result is None else result
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + seconds

    async def client(n: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            i = 0
            while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
                i += 1
                idem = f"load-{n}-{i}-{uuid.uuid4().hex[:8]}"
                body = {
                    "survey_id": survey_id,
                    "score": (n + i) % 11,
                    "segments": {"team": f"t{i % 4}"},
                }
                start = time.monotonic()
                try:
                    r = await http.post(
                        "/v1/responses", json=body, headers={**headers, "Idempotency-Key": idem}
                    )
                except httpx.TransportError as exc:  # the server was killed: not acknowledged
                    result.other.append((0, type(exc).__name__))
                    await asyncio.sleep(0.05)
                    continue
                took = time.monotonic() - start
                result.requests += 1
                if r.status_code == 201:
                    result.acked[idem] = r.json()["id"]
                    result.acked_at.append(time.monotonic())
                elif r.status_code == 503:
                    assert r.headers["content-type"].startswith("application/problem+json")
                    assert int(r.headers["retry-after"]) > 0
                    result.unavailable.append((idem, body, took, r.json()["detail"]))
                    result.slowest_503_s = max(result.slowest_503_s, took)
                else:
                    result.other.append((r.status_code, r.text[:200]))

    await asyncio.gather(*(client(n) for n in range(concurrency)))
    return result
