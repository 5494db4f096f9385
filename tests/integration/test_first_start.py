"""First start: an admin token when none is set; a demo tenant only on embedded servers."""

from __future__ import annotations

import asyncpg
import pytest

from api.serve import _prepare
from infra.settings import Settings
from tests.conftest import POOLED, migrated_database


async def _tenants(url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch("SELECT name FROM tenants"))
    finally:
        await conn.close()


async def test_an_external_database_gets_no_demo_tenant_and_no_printed_key(
    server_urls, redis_url, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with migrated_database(server_urls[0], prefix="nps_first") as url:
        settings = Settings(
            database_url=url,
            redis_url=redis_url,
            data_dir=str(tmp_path),
            database_pooler="transaction" if POOLED else "none",
        )
        assert not settings.embedded
        await _prepare(settings, embedded=settings.embedded)
        out = capsys.readouterr().out
        assert "admin token (shown once):" in out  # the operator needs it to make tenants
        assert "demo" not in out.lower() and "nps_" not in out
        assert await _tenants(url) == []
        assert not (tmp_path / "credentials.txt").exists()
        await _prepare(settings, embedded=False)  # a restart: still nothing, nothing shown
        assert "token" not in capsys.readouterr().out
        assert await _tenants(url) == []


async def test_the_embedded_first_start_creates_and_shows_the_demo_tenant(
    server_urls, redis_url, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with migrated_database(server_urls[0], prefix="nps_first") as url:
        settings = Settings(
            database_url=url,
            redis_url=redis_url,
            data_dir=str(tmp_path),
            database_pooler="transaction" if POOLED else "none",
        )
        await _prepare(settings, embedded=True)
        out = capsys.readouterr().out
        assert "demo API key (shown once): nps_" in out
        assert [r["name"] for r in await _tenants(url)] == ["Demo"]
        assert "demo API key: nps_" in (tmp_path / "credentials.txt").read_text()
