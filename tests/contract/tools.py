"""The pinned npm tools (package-lock.json, installed by `make test` with `npm ci`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi" / "openapi.json"
BIN = ROOT / "node_modules" / ".bin"
# No telemetry, no update checks: the tools run offline from node_modules.
ENV = os.environ | {
    "REDOCLY_TELEMETRY": "off",
    "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    "SCARF_ANALYTICS": "false",
    "DO_NOT_TRACK": "1",
    "NO_COLOR": "1",
}


def tool(name: str) -> Path:
    path = BIN / name
    assert path.exists(), f"{name} is missing: `make test` installs it (Node.js >= 18.18, npm ci)"
    return path


def run(
    name: str, *args: str, cwd: Path = ROOT, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool(name)), *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
