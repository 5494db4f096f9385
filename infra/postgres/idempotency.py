"""Idempotency-Key records in PostgreSQL.

A key is claimed by the statement that stores its request's answers (ingest_sql), with the
status and body the request will be answered with, under a transaction-level advisory lock
on the key: a concurrent request with the same key fails to take the lock and is told the
first is still running, without waiting. Only when the stored answers turn out otherwise
than expected (an unknown survey, an external_id seen before) is the record corrected here,
still in that transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from domain.idempotency import Recorded

KEEP_HOURS = 48
# Key space of the claim locks (two-int advisory locks; hashtext of tenant and key second).
LOCK_SPACE = 7_366_917

Key = tuple[UUID, str]


async def stored(
    conn: asyncpg.Connection, keys: Sequence[Key]
) -> dict[Key, tuple[bytes, Recorded]]:
    """The request hash and answer recorded for each key (keys claimed by others before)."""
    rows = await conn.fetch(
        "SELECT k.tenant_id, k.key, k.request_hash, k.status_code, k.body"
        " FROM idempotency_keys k JOIN unnest($1::uuid[], $2::text[]) AS u(tenant_id, key)"
        "  ON k.tenant_id = u.tenant_id AND k.key = u.key WHERE k.completed_at IS NOT NULL",
        [t for t, _ in keys],
        [key for _, key in keys],
    )
    return {
        (r["tenant_id"], r["key"]): (
            r["request_hash"],
            Recorded(status_code=r["status_code"], body=r["body"], replayed=True),
        )
        for r in rows
    }


async def correct(
    conn: asyncpg.Connection, keys: Sequence[tuple[UUID, str, tuple[int, bytes] | None]]
) -> None:
    """Record the final answer of claimed keys, or forget keys whose request stored nothing."""
    forget = [(t, key) for t, key, answer in keys if answer is None]
    update = [(t, key, *answer) for t, key, answer in keys if answer is not None]
    if forget:
        await conn.execute(
            "DELETE FROM idempotency_keys k USING unnest($1::uuid[], $2::text[]) AS u(t, key)"
            " WHERE k.tenant_id = u.t AND k.key = u.key",
            [t for t, _ in forget],
            [key for _, key in forget],
        )
    if update:
        tenants, names, statuses, bodies = zip(*update, strict=True)
        await conn.execute(
            "UPDATE idempotency_keys k SET status_code = c.status, body = c.body"
            " FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bytea[])"
            "  AS c(tenant_id, key, status, body)"
            " WHERE k.tenant_id = c.tenant_id AND k.key = c.key",
            list(tenants),
            list(names),
            list(statuses),
            list(bodies),
        )


async def purge_expired(pool: asyncpg.Pool) -> int:
    """Forget completed keys older than KEEP_HOURS (at least 24 h are promised)."""
    status = await pool.execute(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)",
        KEEP_HOURS,
    )
    return int(status.split()[-1])
