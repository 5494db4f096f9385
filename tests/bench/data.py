"""Benchmark data: answers loaded by COPY, spread over a year, 50 teams, three segments."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import asyncpg

COLUMNS = (
    "tenant_id",
    "id",
    "survey_id",
    "score",
    "comment",
    "customer_id",
    "segments",
    "answered_at",
    "received_at",
    "local_date",
)
TEAMS = [f"team-{i:02d}" for i in range(50)]


def answer_rows(
    tenant_id: uuid.UUID, survey_id: uuid.UUID, n: int, *, today: date, seed: int = 1
) -> Iterator[tuple[object, ...]]:
    """n answers over the 365 days ending today (UTC tenant), deterministic."""
    rnd = random.Random(seed)
    base = datetime.combine(today, datetime.min.time(), UTC)
    for _ in range(n):
        day = rnd.randrange(365)
        at = base - timedelta(days=day, seconds=rnd.randrange(86400))
        if at.date() > today:
            at = base
        yield (
            tenant_id,
            uuid.UUID(int=rnd.getrandbits(128), version=4),
            survey_id,
            rnd.choice((0, 3, 5, 6, 7, 8, 8, 9, 9, 10, 10)),
            None,
            f"cus_{rnd.randrange(10**6)}",
            {
                "team": rnd.choice(TEAMS),
                "region": rnd.choice(("emea", "amer", "apac")),
                "plan": rnd.choice(("free", "team", "business")),
            },
            at,
            at,
            at.date(),
        )


BULK_TIMEOUT_S = 600.0  # one COPY chunk, however loaded the machine


async def _copy_chunk(
    conn: asyncpg.Connection, table: str, batch: list[tuple[object, ...]]
) -> None:
    """One chunk in its own transaction: bulk loads run longer than a request's statement
    limit (lifted for the transaction only, so it holds behind a transaction pooler too)."""
    async with conn.transaction():
        await conn.execute("SET LOCAL statement_timeout = 0")
        await conn.copy_records_to_table(
            table, records=batch, columns=COLUMNS, timeout=BULK_TIMEOUT_S
        )


async def copy_answers(
    pool: asyncpg.Pool,
    rows: Iterator[tuple[object, ...]],
    *,
    table: str = "responses",
    chunk: int = 50_000,
) -> float:
    """COPY rows in chunks; returns seconds taken (no statement limit: bulk loads are long)."""
    started = time.perf_counter()
    batch: list[tuple[object, ...]] = []
    async with pool.acquire() as conn:
        for row in rows:
            batch.append(row)
            if len(batch) >= chunk:
                await _copy_chunk(conn, table, batch)
                batch = []
        if batch:
            await _copy_chunk(conn, table, batch)
    return time.perf_counter() - started
