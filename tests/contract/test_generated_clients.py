"""Clients generated from the committed spec type-check and work against the real server.

Python: openapi-python-client (dev lock), `mypy --strict` on the smoke script and on the
generated package. TypeScript: openapi-typescript + openapi-fetch (package-lock.json),
`tsc --strict --noEmit`. Each generator must print no warning; each smoke scenario
creates a survey, posts an answer twice with one Idempotency-Key, reads the NPS and a
breakdown, follows a cursor to the end and reads a problem's `title` from a typed error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN_TOKEN
from tests.contract.tools import ROOT, SPEC, run
from tests.live_server import ARTIFACTS, LiveServer, start_api_server

HERE = Path(__file__).parent
VENV_BIN = Path(sys.executable).parent
WARNING = re.compile(r"warn|unable|error|skipp|could not", re.I)
# The generator's own httpx wrapper (client.py) is a fixed template, not derived from the
# spec; mypy finds its *args pass-through to __exit__ too loose. Everything generated from
# the spec (models, api) is checked strictly.
MYPY_INI = """\
[mypy]
strict = True

[mypy-nps_client.client]
ignore_errors = True
"""


@pytest.fixture(scope="module")
def server(database_url: str, redis_url: str) -> Iterator[LiveServer]:
    """The real API (`nps serve`, one worker) on a free loopback port."""
    log = ARTIFACTS / "contract" / "live-server.log"
    with start_api_server(database_url, redis_url, log, drain_interval_s="0.2") as live:
        yield live


def _run(cmd: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_python_client_generates_cleanly_type_checks_and_runs_the_scenario(
    server: LiveServer, tmp_path: Path
) -> None:
    generated = _run(
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(SPEC),
            "--meta",
            "none",
            "--output-path",
            "nps_client",
        ],
        tmp_path,
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # its ruff post-hook
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    assert not WARNING.search(output), output
    (tmp_path / "python_smoke.py").write_text((HERE / "python_smoke.py").read_text())
    (tmp_path / "mypy.ini").write_text(MYPY_INI)
    checked = _run(
        [str(VENV_BIN / "mypy"), "--config-file", "mypy.ini", "python_smoke.py", "nps_client"],
        tmp_path,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    smoke = _run(
        [sys.executable, "python_smoke.py", server.base_url, ADMIN_TOKEN],
        tmp_path,
    )
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr + server.log_text()[-4000:]
    assert "problem title 'Not found'" in smoke.stdout, smoke.stdout


def test_typescript_client_generates_cleanly_type_checks_and_runs_the_scenario(
    server: LiveServer, tmp_path: Path
) -> None:
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    # Without the flag a property with a `default` is required in request bodies too
    # (openapi-typescript 7 treats defaults as non-nullable): integrators turn it off.
    generated = run(
        "openapi-typescript",
        str(SPEC),
        "--default-non-nullable=false",
        "--output",
        str(tmp_path / "schema.ts"),
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert not WARNING.search(generated.stdout + generated.stderr.replace("✨", "")), (
        generated.stdout + generated.stderr
    )
    (tmp_path / "smoke.ts").write_text((HERE / "ts_smoke.ts").read_text())
    (tmp_path / "config.ts").write_text(
        f"export const BASE_URL = {server.base_url!r};\n"
        f"export const ADMIN_TOKEN = {ADMIN_TOKEN!r};\n"
    )
    (tmp_path / "package.json").write_text('{"type": "module", "private": true}\n')
    (tmp_path / "tsconfig.json").write_text((HERE / "ts_tsconfig.json").read_text())
    checked = run("tsc", "--strict", "--noEmit", "-p", "tsconfig.json", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    built = run("tsc", "-p", "tsconfig.json", cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    smoke = _run(["node", "out/smoke.js"], tmp_path)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr + server.log_text()[-4000:]
    assert "problem title 'Not found'" in smoke.stdout, smoke.stdout
