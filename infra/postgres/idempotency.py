"""Idempotency-Key records in PostgreSQL."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from domain.idempotency import Claim, Claimed, InProgress, Mismatch, Replay

# A claim whose request never completed (process died) may be taken over after this long.
STALE_CLAIM_SECONDS = 60
KEEP_HOURS = 48


class PgIdempotencyStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(self, *, tenant_id: UUID, key: str, request_hash: bytes) -> Claim:
        for _ in range(3):
            claimed = await self._pool.fetchval(
                "INSERT INTO idempotency_keys (tenant_id, key, request_hash) VALUES ($1, $2, $3)"
                " ON CONFLICT (tenant_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
                "  created_at = now()"
                "  WHERE idempotency_keys.completed_at IS NULL"
                "  AND idempotency_keys.created_at < now() - make_interval(secs => $4)"
                " RETURNING true",
                tenant_id,
                key,
                request_hash,
                float(STALE_CLAIM_SECONDS),
            )
            if claimed:
                return Claimed()
            # A separate statement: it sees the row a concurrent request just committed.
            row = await self._pool.fetchrow(
                "SELECT request_hash, status_code, body FROM idempotency_keys"
                " WHERE tenant_id = $1 AND key = $2",
                tenant_id,
                key,
            )
            if row is None:
                continue  # released meanwhile: try to claim again
            if row["request_hash"] != request_hash:
                return Mismatch()
            if row["status_code"] is None:
                return InProgress()
            return Replay(status_code=row["status_code"], body=row["body"])
        return InProgress()

    async def release(self, *, tenant_id: UUID, key: str) -> None:
        await self._pool.execute(
            "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2"
            " AND completed_at IS NULL",
            tenant_id,
            key,
        )


async def complete(
    conn: asyncpg.Connection, completions: list[tuple[UUID, str, int, bytes]]
) -> None:
    """Store final status and body of claimed keys (inside the work's own transaction)."""
    if not completions:
        return
    tenants, keys, statuses, bodies = zip(*completions, strict=True)
    await conn.execute(
        "UPDATE idempotency_keys k SET status_code = c.status, body = c.body, completed_at = now()"
        " FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bytea[])"
        "  AS c(tenant_id, key, status, body)"
        " WHERE k.tenant_id = c.tenant_id AND k.key = c.key",
        list(tenants),
        list(keys),
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
