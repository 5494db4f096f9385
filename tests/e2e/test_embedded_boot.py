"""The newcomer's path: `nps serve` with no URLs boots embedded PostgreSQL and Redis for real."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tests.integration.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def _start(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NPS_")}
    env |= {
        "NPS_DATA_DIR": str(data_dir),
        "NPS_PORT": str(port),
        "NPS_WORKERS": "1",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("not ready in 90 s:\n" + log.read_text())


def _stop(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """SIGINT like Ctrl-C; returns the child processes that outlived it (should be none)."""
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    _, alive = psutil.wait_procs(children, timeout=15)
    return alive


def test_serve_boots_embedded_servers_counts_and_survives_a_restart(tmp_path: Path) -> None:
    port, data = free_port(), tmp_path / "data"
    base = f"http://127.0.0.1:{port}"
    first_log = tmp_path / "first.log"
    proc = _start(data, port, first_log)
    try:
        _wait_ready(base, proc, first_log)
        text = first_log.read_text()
        key = re.search(r"demo API key \(shown once\): (\S+)", text).group(1)  # type: ignore[union-attr]
        assert re.search(r"admin token \(shown once\): \S+", text)
        auth = {"Authorization": f"Bearer {key}"}
        survey = httpx.post(
            f"{base}/v1/surveys",
            json={"name": "Onboarding", "kind": "relational"},
            headers=auth,
            timeout=10,
        )
        assert survey.status_code == 201, survey.text
        answer = httpx.post(
            f"{base}/v1/responses",
            json={"survey_id": survey.json()["id"], "score": 10},
            headers=auth,
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        nps = httpx.get(f"{base}/v1/nps", headers=auth, timeout=10).json()
        assert (nps["total"], nps["nps"]) == (1, 100.0)
        assert (data / "credentials.txt").stat().st_mode & 0o777 == 0o600
    finally:
        leftovers = _stop(proc)
    assert proc.returncode is not None
    assert leftovers == [], [p.cmdline() for p in leftovers]

    second_log = tmp_path / "second.log"
    proc = _start(data, port, second_log)
    try:
        _wait_ready(base, proc, second_log)
        assert "shown once" not in second_log.read_text()
        nps = httpx.get(f"{base}/v1/nps", headers=auth, timeout=10).json()
        assert nps["total"] == 1  # kept by PostgreSQL, counters rebuilt into the new Redis
    finally:
        assert _stop(proc) == []
