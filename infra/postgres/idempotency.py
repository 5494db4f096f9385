"""Idempotency-Key records in PostgreSQL.

A key is claimed by the statement that stores its request's answers (ingest_sql), with the
outcome the request will get, under a transaction-level advisory lock on the key: a
concurrent request with the same key fails to take the lock and is told the first is
still running, without waiting. Only when the stored answers turn out otherwise than
expected (an unknown survey, an external_id seen before) is the record corrected here,
still in that transaction.

The outcome is stored as the domain's outcome in msgspec JSON (`encode_outcome`), not as
an HTTP answer. JSON rather than msgpack: it keeps each instant with the offset the
client wrote, so a replay renders the very bytes of the first answer. A key recorded as
a status and body (before migration 022, or by a process of the previous version during
a rolling deploy) is read through `nps_recorded_outcome`, which parses the answer back
into the outcome it was rendered from.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg
import msgspec

from domain.outcomes import RequestOutcome

KEEP_HOURS = 48
# Key space of the claim locks (two-int advisory locks; hashtext of tenant and key second).
LOCK_SPACE = 7_366_917

Key = tuple[UUID, str]

encode_outcome = msgspec.json.Encoder().encode
_decoder = msgspec.json.Decoder(RequestOutcome)


def decode_outcome(data: bytes) -> RequestOutcome:
    return _decoder.decode(data)


async def stored(
    conn: asyncpg.Connection, keys: Sequence[Key]
) -> dict[Key, tuple[bytes, RequestOutcome]]:
    """The request hash and outcome recorded for each key (keys claimed by others before)."""
    rows = await conn.fetch(
        "SELECT k.tenant_id, k.key, k.request_hash,"
        "       coalesce(k.outcome, nps_recorded_outcome(k.tenant_id, k.status_code, k.body))"
        "       AS outcome"
        " FROM idempotency_keys k JOIN unnest($1::uuid[], $2::text[]) AS u(tenant_id, key)"
        "  ON k.tenant_id = u.tenant_id AND k.key = u.key WHERE k.completed_at IS NOT NULL",
        [t for t, _ in keys],
        [key for _, key in keys],
    )
    return {
        (r["tenant_id"], r["key"]): (r["request_hash"], decode_outcome(r["outcome"])) for r in rows
    }


async def correct(conn: asyncpg.Connection, keys: Sequence[tuple[UUID, str, bytes | None]]) -> None:
    """Record the final outcome (encoded) of claimed keys, or forget keys whose request
    recorded nothing."""
    forget = [(t, key) for t, key, outcome in keys if outcome is None]
    update = [(t, key, outcome) for t, key, outcome in keys if outcome is not None]
    if forget:
        await conn.execute(
            "DELETE FROM idempotency_keys k USING unnest($1::uuid[], $2::text[]) AS u(t, key)"
            " WHERE k.tenant_id = u.t AND k.key = u.key",
            [t for t, _ in forget],
            [key for _, key in forget],
        )
    if update:
        tenants, names, outcomes = zip(*update, strict=True)
        await conn.execute(
            "UPDATE idempotency_keys k SET outcome = c.outcome"
            " FROM unnest($1::uuid[], $2::text[], $3::bytea[]) AS c(tenant_id, key, outcome)"
            " WHERE k.tenant_id = c.tenant_id AND k.key = c.key",
            list(tenants),
            list(names),
            list(outcomes),
        )


async def purge_expired(pool: asyncpg.Pool) -> int:
    """Forget completed keys older than KEEP_HOURS (at least 24 h are promised)."""
    status = await pool.execute(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)",
        KEEP_HOURS,
    )
    return int(status.split()[-1])
