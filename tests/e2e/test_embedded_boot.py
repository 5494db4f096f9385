"""The newcomer's path: `nps serve` with no URLs boots embedded PostgreSQL and Redis for real."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NPS_")}
    return env | {"NPS_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)} | extra


def _start(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve"],
        cwd=ROOT,
        env=_env(data_dir, NPS_PORT=str(port), NPS_WORKERS="1"),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _nps(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT,
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
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


def _postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """The embedded postmaster and its backends (pg_ctl detaches them from us)."""
    pid_file = data_dir / "postgres" / "postmaster.pid"
    if not pid_file.exists():
        return []
    try:
        postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
        return [postmaster, *postmaster.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cmdline(p: psutil.Process) -> str:
    """A process's command line, or "" once it is gone (backends come and go meanwhile)."""
    try:
        return " ".join(p.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return ""


def _stop(proc: subprocess.Popen[bytes], data_dir: Path, sig: int) -> list[str]:
    """Signal like Ctrl-C or `docker stop`; returns the command lines of what outlived it."""
    started = [*psutil.Process(proc.pid).children(recursive=True), *_postgres_processes(data_dir)]
    assert any("redis-server" in _cmdline(p) for p in started)
    assert any("postgres" in _cmdline(p) for p in started)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    _, alive = psutil.wait_procs(started, timeout=15)
    return [line for p in alive if p.is_running() and (line := _cmdline(p))]


def _api(base: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10)


def test_serve_boots_embedded_servers_counts_and_survives_a_restart(tmp_path: Path) -> None:
    port, data = _free_port(), tmp_path / "data"
    base = f"http://127.0.0.1:{port}"
    first_log = tmp_path / "first.log"
    proc = _start(data, port, first_log)
    try:
        _wait_ready(base, proc, first_log)
        text = first_log.read_text()
        key = re.search(r"demo API key \(shown once\): (\S+)", text).group(1)  # type: ignore[union-attr]
        assert re.search(r"admin token \(shown once\): \S+", text)
        assert f"{base}/docs" in text and "curl" in text
        with _api(base, key) as api:
            survey = api.post("/v1/surveys", json={"name": "Onboarding", "kind": "relational"})
            assert survey.status_code == 201, survey.text
            answer = api.post("/v1/responses", json={"survey_id": survey.json()["id"], "score": 10})
            assert answer.status_code == 201, answer.text
            nps = api.get("/v1/nps").json()
            assert (nps["total"], nps["nps"]) == (1, 100.0)
            # A second command on the same data dir shares the servers, and leaves them up.
            verified = _nps(data, "counters", "verify")
            assert verified.returncode == 0, verified.stderr
            assert verified.stdout == "counters match PostgreSQL\n"
            assert api.get("/v1/nps").json()["total"] == 1
        assert (data / "credentials.txt").stat().st_mode & 0o777 == 0o600
        assert key in (data / "credentials.txt").read_text()
    finally:
        leftovers = _stop(proc, data, signal.SIGINT)
    assert leftovers == []

    second_log = tmp_path / "second.log"
    proc = _start(data, port, second_log)
    try:
        _wait_ready(base, proc, second_log)
        assert "shown once" not in second_log.read_text()
        with _api(base, key) as api:
            nps = api.get("/v1/nps").json()
        assert nps["total"] == 1  # kept by PostgreSQL, counters rebuilt into the new Redis
    finally:
        assert _stop(proc, data, signal.SIGTERM) == []


def test_operator_commands_run_on_embedded_servers_and_stop_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = _nps(data, "tenants", "create", "--name", "Solo", "--timezone", "Europe/Paris")
    assert created.returncode == 0, created.stderr
    tenant_id = uuid.UUID(created.stdout.strip())  # stdout holds the id alone; logs on stderr
    verified = _nps(data, "counters", "verify", "--tenant", str(tenant_id))
    assert verified.returncode == 0, verified.stderr
    assert _postgres_processes(data) == []
    assert not any(
        str(data) in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])
    )
