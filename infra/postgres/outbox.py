"""counter_outbox: counter changes written in the answers' transactions, applied after commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import asyncpg
import msgspec


class OutboxRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One counter change; `xid` is the writing transaction, the unit applied at most once."""

    id: int
    xid: str
    tenant_id: UUID
    survey_id: UUID
    local_date: date
    score: int
    segments: dict[str, str]
    delta: int
    response_id: UUID | None = None


_COLUMNS = (
    "id, xid::text AS xid, tenant_id, response_id, survey_id, local_date, score, segments, delta"
)


def to_outbox_row(row: asyncpg.Record) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        xid=row["xid"],
        tenant_id=row["tenant_id"],
        response_id=row["response_id"],
        survey_id=row["survey_id"],
        local_date=row["local_date"],
        score=row["score"],
        segments=row["segments"],
        delta=row["delta"],
    )


async def fetch_outbox(
    conn: asyncpg.Connection, tenant_id: UUID, transactions: int, *, up_to: int | None = None
) -> list[OutboxRow]:
    """Every row of the tenant's oldest `transactions` writing transactions (never a part);
    with `up_to`, only transactions that have a row of id `up_to` or lower."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM counter_outbox WHERE tenant_id = $1 AND xid = ANY("
        "  SELECT DISTINCT xid FROM counter_outbox WHERE tenant_id = $1"
        "   AND ($3::bigint IS NULL OR id <= $3) ORDER BY xid LIMIT $2"
        ") ORDER BY id",
        tenant_id,
        transactions,
        up_to,
    )
    return [to_outbox_row(r) for r in rows]


async def last_outbox_id(conn: asyncpg.Connection, tenant_id: UUID) -> int | None:
    """The highest id of the tenant's waiting rows (None when none wait)."""
    value = await conn.fetchval(
        "SELECT max(id) FROM counter_outbox WHERE tenant_id = $1", tenant_id
    )
    return None if value is None else int(value)


async def delete_outbox(conn: asyncpg.Connection, tenant_id: UUID, ids: Sequence[int]) -> None:
    if ids:
        await conn.execute(
            "DELETE FROM counter_outbox WHERE tenant_id = $1 AND id = ANY($2::bigint[])",
            tenant_id,
            list(ids),
        )


async def delete_outbox_rows(conn: asyncpg.Connection, rows: Sequence[tuple[UUID, int]]) -> None:
    """Delete (tenant, id) pairs of several tenants at once (the batcher's applied rows)."""
    if rows:
        await conn.execute(
            "DELETE FROM counter_outbox o USING unnest($1::uuid[], $2::bigint[]) AS d(t, i)"
            " WHERE o.tenant_id = d.t AND o.id = d.i",
            [t for t, _ in rows],
            [i for _, i in rows],
        )


async def delete_seen_by_snapshot(conn: asyncpg.Connection, tenant_id: UUID, snapshot: str) -> int:
    """Drop rows whose answers a snapshot aggregate already contains."""
    status = await conn.execute(
        "DELETE FROM counter_outbox WHERE tenant_id = $1"
        " AND pg_visible_in_snapshot(xid, $2::text::pg_snapshot)",
        tenant_id,
        snapshot,
    )
    return int(status.split()[-1])


async def tenants_with_outbox(conn: asyncpg.Connection) -> list[UUID]:
    """Tenants with counter changes waiting (the drainer's cross-tenant listing)."""
    rows = await conn.fetch("SELECT DISTINCT tenant_id FROM counter_outbox")
    return [r["tenant_id"] for r in rows]


async def has_outbox(conn: asyncpg.Connection, tenant_id: UUID) -> bool:
    """True when the tenant has counter changes waiting."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM counter_outbox WHERE tenant_id = $1)", tenant_id
        )
    )
