"""The `nps` command against the test servers."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import POOLER_ENV

ROOT = Path(__file__).resolve().parents[2]


def nps(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NPS_")}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT,
        env=base | {"PYTHONPATH": str(ROOT), "NPS_LOG_LEVEL": "warning"} | (env or {}),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _tenant_ids(database_url: str) -> set[str]:
    async def fetch() -> set[str]:
        conn = await asyncpg.connect(database_url)
        try:
            return {str(r["id"]) for r in await conn.fetch("SELECT id FROM tenants")}
        finally:
            await conn.close()

    return asyncio.run(fetch())


@pytest.fixture
def env(database_url: str, redis_url: str) -> Iterator[dict[str, str]]:
    """The test servers; the counters of tenants made by the test are removed from Redis after."""
    import redis

    before = _tenant_ids(database_url)
    yield {"NPS_DATABASE_URL": database_url, "NPS_REDIS_URL": redis_url} | POOLER_ENV
    client = redis.Redis.from_url(redis_url)
    for tenant_id in _tenant_ids(database_url) - before:
        keys = list(client.scan_iter(f"nps:{{{tenant_id}}}:*", count=1000))
        if keys:
            client.delete(*keys)
    client.close()


def test_openapi_writes_the_spec(tmp_path: Path) -> None:
    out = tmp_path / "spec.json"
    result = nps("openapi", "--output", str(out))
    assert result.returncode == 0, result.stderr
    spec = json.loads(out.read_text())
    assert spec["openapi"] == "3.1.0" and "/v1/responses" in spec["paths"]
    assert out.read_text().endswith("}\n")


def test_tenant_key_and_counter_commands(env: dict[str, str]) -> None:
    assert nps("migrate", env=env).returncode == 0
    created = nps("tenants", "create", "--name", "CLI Co", "--timezone", "Asia/Tokyo", env=env)
    assert created.returncode == 0, created.stderr
    tenant_id = created.stdout.strip()
    key = nps(
        "keys",
        "create",
        "--tenant",
        tenant_id,
        "--name",
        "ops",
        "--scopes",
        "results:read,manage",
        env=env,
    )
    assert key.returncode == 0, key.stderr
    assert re.search(r"API key \(shown once\): nps_\S+", key.stdout)
    key_id = re.search(r"key id: (\S+)", key.stdout).group(1)  # type: ignore[union-attr]
    assert nps("keys", "revoke", "--tenant", tenant_id, "--key", key_id, env=env).returncode == 0
    rebuilt = nps("counters", "rebuild", "--tenant", tenant_id, env=env)
    assert rebuilt.returncode == 0 and "rebuilt" in rebuilt.stdout
    verified = nps("counters", "verify", "--tenant", tenant_id, env=env)
    assert verified.returncode == 0 and "counters match PostgreSQL" in verified.stdout


def test_verify_exits_1_on_a_difference(env: dict[str, str], redis_url: str) -> None:
    import redis

    tenant_id = nps("tenants", "create", "--name", "Drift", env=env).stdout.strip()
    client = redis.Redis.from_url(redis_url)
    gen = int(client.hget(f"nps:{{{tenant_id}}}:meta", "gen"))  # type: ignore[arg-type]
    client.hincrby(f"nps:{{{tenant_id}}}:g{gen}:h:all:d20260101:_", "9", 1)
    client.close()
    result = nps("counters", "verify", "--tenant", tenant_id, env=env)
    assert result.returncode == 1
    assert "d20260101" in result.stdout


def test_bad_usage_and_bad_input_exit_non_zero(env: dict[str, str]) -> None:
    assert nps("frobnicate").returncode == 2
    bad = nps("tenants", "create", "--name", "X", "--timezone", "Mars/Base", env=env)
    assert bad.returncode == 1 and "timezone" in bad.stderr


def test_commands_print_only_their_answer_on_stdout(env: dict[str, str]) -> None:
    created = nps("tenants", "create", "--name", "Quiet", env=env | {"NPS_LOG_LEVEL": "info"})
    assert created.returncode == 0, created.stderr
    uuid.UUID(created.stdout.strip())  # a script can capture the id: logs went to stderr


def test_one_url_without_the_other_fails(database_url: str) -> None:
    result = nps("migrate", env={"NPS_DATABASE_URL": database_url} | POOLER_ENV)
    assert result.returncode == 1 and "NPS_REDIS_URL" in result.stderr
