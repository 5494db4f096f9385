"""Stopping never fails or hangs on a pool that cannot close gracefully."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from infra.postgres.pool import close_pool, create_pool
from tests.conftest import POOLED


async def test_a_pool_with_a_connection_still_held_is_cut_when_closing_runs_out_of_time(
    database_url,
) -> None:
    pool = await create_pool(database_url, size=2, transaction_pooler=POOLED)
    held = await pool.acquire()  # a request still running when the API stops
    # A graceful close waits for every connection to come back: this one never does.
    await asyncio.wait_for(close_pool(pool, within_s=0.5), timeout=30)
    assert pool.is_closing()
    with pytest.raises(asyncpg.InterfaceError):  # the held connection was cut too
        await held.fetchval("SELECT 1")


async def test_an_idle_pool_closes_gracefully(database_url) -> None:
    pool = await create_pool(database_url, size=2, transaction_pooler=POOLED)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT 1") == 1
    await close_pool(pool)
    assert pool.is_closing()
