"""Customer profiles from the answers, and erasure of a customer's personal data."""

from __future__ import annotations

import hashlib
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg

from domain.customers import AuditEntry, CustomerProfile, Erasure
from domain.errors import NotFound
from infra.postgres.responses import COLUMNS, to_response

HISTORY = 20


def _fingerprint(tenant_id: UUID, customer_id: str) -> str:
    """Lets an operator match an erasure request to its log entry without keeping the id."""
    return hashlib.sha256(f"{tenant_id}:{customer_id}".encode()).hexdigest()[:16]


class PgCustomerRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def profile(self, *, tenant_id: UUID, customer_id: str) -> CustomerProfile:
        async with self._pool.acquire() as conn:
            stats = await conn.fetchrow(
                "SELECT count(*) AS n, min(answered_at) AS first, max(answered_at) AS last"
                " FROM responses WHERE tenant_id = $1 AND customer_id = $2",
                tenant_id,
                customer_id,
            )
            if not stats["n"]:
                raise NotFound("customer not found")
            rows = await conn.fetch(
                f"SELECT {COLUMNS} FROM responses WHERE tenant_id = $1 AND customer_id = $2"
                " ORDER BY answered_at DESC, id DESC LIMIT $3",
                tenant_id,
                customer_id,
                HISTORY,
            )
        history = [to_response(r) for r in rows]
        return CustomerProfile(
            customer_id=customer_id,
            latest=history[0],
            responses_count=stats["n"],
            first_answered_at=stats["first"],
            last_answered_at=stats["last"],
            history=history,
        )

    async def erase(
        self, *, tenant_id: UUID, customer_id: str, actor_key_id: UUID, now: datetime
    ) -> Erasure:
        """Remove the customer id and comments from every answer; scores stay counted."""
        entry = uuid4()
        async with self._pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "UPDATE responses SET customer_id = NULL, comment = NULL"
                " WHERE tenant_id = $1 AND customer_id = $2",
                tenant_id,
                customer_id,
            )
            count = int(status.split()[-1])
            if count == 0:
                raise NotFound("customer not found")
            await conn.execute(
                "INSERT INTO audit_log (tenant_id, id, action, actor_key_id, details, created_at)"
                " VALUES ($1, $2, 'customer.erased', $3, $4, $5)",
                tenant_id,
                entry,
                actor_key_id,
                {"answers_anonymised": count, "fingerprint": _fingerprint(tenant_id, customer_id)},
                now,
            )
        return Erasure(id=entry, answers_anonymised=count, erased_at=now)

    async def audit(self, *, tenant_id: UUID, limit: int) -> list[AuditEntry]:
        rows = await self._pool.fetch(
            "SELECT id, action, actor_key_id, details, created_at FROM audit_log"
            " WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
            tenant_id,
            limit,
        )
        return [
            AuditEntry(
                id=r["id"],
                action=r["action"],
                actor_key_id=r["actor_key_id"],
                details=r["details"],
                created_at=r["created_at"],
            )
            for r in rows
        ]
