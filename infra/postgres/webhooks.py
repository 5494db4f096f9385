"""Webhook endpoints and their deliveries in PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import asyncpg

from domain.errors import NotFound
from domain.model import Page
from domain.webhooks import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Endpoint,
    EventType,
    QueuedDelivery,
    WebhookEvent,
)
from infra.postgres.cursor import after_key, decode_cursor, encode_cursor, keyset_page
from infra.postgres.webhooks_outbox import enqueue_for_endpoint

_ENDPOINT = (
    "id, tenant_id, url, description, events, enabled, disabled_reason, created_at, updated_at,"
    " CASE WHEN previous_secret_expires_at > now() THEN previous_secret_expires_at END"
    " AS previous_secret_expires_at"
)
_DELIVERY = (
    "d.id, d.seq, d.endpoint_id, d.event_id, ev.type AS event_type, d.status, d.attempts,"
    " d.last_status_code, d.last_error, d.next_attempt_at, d.created_at"
)


def _not_found() -> NotFound:
    return NotFound("webhook not found")


def _endpoint(row: asyncpg.Record) -> Endpoint:
    return Endpoint(
        id=row["id"],
        tenant_id=row["tenant_id"],
        url=row["url"],
        description=row["description"],
        events=tuple(EventType(e) for e in row["events"]),
        enabled=row["enabled"],
        disabled_reason=row["disabled_reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        previous_secret_expires_at=row["previous_secret_expires_at"],
    )


def _delivery(row: asyncpg.Record, attempts: list[Attempt]) -> Delivery:
    return Delivery(
        id=row["id"],
        endpoint_id=row["endpoint_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        next_attempt_at=row["next_attempt_at"] if row["status"] == "pending" else None,
        created_at=row["created_at"],
        attempt_list=attempts,
    )


class PgWebhookRepository:
    """Runs on the unit of work's connection, inside its transaction.

    `events_queued` tells the unit of work that a delivery became due (it wakes the relay
    once the transaction has committed).
    """

    def __init__(self, conn: asyncpg.Connection, *, events_queued: Callable[[], None]) -> None:
        self._conn = conn
        self._queued = events_queued

    async def add(self, endpoint: Endpoint, *, secret: str) -> None:
        await self._conn.execute(
            "INSERT INTO webhook_endpoints (tenant_id, id, url, description, events, enabled,"
            " secret, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            endpoint.tenant_id,
            endpoint.id,
            endpoint.url,
            endpoint.description,
            [str(e) for e in endpoint.events],
            endpoint.enabled,
            secret,
            endpoint.created_at,
            endpoint.updated_at,
        )

    async def get(self, *, tenant_id: UUID, endpoint_id: UUID) -> Endpoint:
        row = await self._conn.fetchrow(
            f"SELECT {_ENDPOINT} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            endpoint_id,
        )
        if row is None:
            raise _not_found()
        return _endpoint(row)

    async def list(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[Endpoint]:
        after_at, after_id = after_key(cursor, tuple[datetime, UUID])
        rows = await self._conn.fetch(
            f"SELECT {_ENDPOINT} FROM webhook_endpoints WHERE tenant_id = $1"
            " AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))"
            " ORDER BY created_at DESC, id DESC LIMIT $4",
            tenant_id,
            after_at,
            after_id,
            limit + 1,
        )
        return keyset_page([_endpoint(r) for r in rows], limit, lambda x: (x.created_at, x.id))

    async def save(self, endpoint: Endpoint) -> None:
        """Saving an enabled endpoint forgets its failure streak."""
        await self._conn.execute(
            "UPDATE webhook_endpoints SET url = $3, description = $4, events = $5, enabled = $6,"
            " disabled_reason = $7, updated_at = $8,"
            " failing_since = CASE WHEN $6 AND NOT enabled THEN NULL ELSE failing_since END"
            " WHERE tenant_id = $1 AND id = $2",
            endpoint.tenant_id,
            endpoint.id,
            endpoint.url,
            endpoint.description,
            [str(e) for e in endpoint.events],
            endpoint.enabled,
            endpoint.disabled_reason,
            endpoint.updated_at,
        )

    async def delete(self, *, tenant_id: UUID, endpoint_id: UUID) -> None:
        status = await self._conn.execute(
            "DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2", tenant_id, endpoint_id
        )
        if status.endswith(" 0"):
            raise _not_found()

    async def rotate_secret(
        self, *, tenant_id: UUID, endpoint_id: UUID, secret: str, old_expires_at: datetime
    ) -> Endpoint:
        row = await self._conn.fetchrow(
            "UPDATE webhook_endpoints SET previous_secret = secret, secret = $3,"
            " previous_secret_expires_at = $4, updated_at = now()"
            f" WHERE tenant_id = $1 AND id = $2 RETURNING {_ENDPOINT}",
            tenant_id,
            endpoint_id,
            secret,
            old_expires_at,
        )
        if row is None:
            raise _not_found()
        return _endpoint(row)

    async def enqueue_for(self, event: WebhookEvent, *, endpoint_id: UUID) -> QueuedDelivery:
        queued = await enqueue_for_endpoint(self._conn, event, endpoint_id=endpoint_id)
        if queued is None:
            raise _not_found()
        self._queued()
        return queued

    async def deliveries(
        self, *, tenant_id: UUID, endpoint_id: UUID, limit: int, cursor: str | None
    ) -> Page[Delivery]:
        """Newest first, each with its attempts in order."""
        after = decode_cursor(cursor, tuple[int]) if cursor else None
        conn = self._conn
        exists = await conn.fetchval(
            "SELECT 1 FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            endpoint_id,
        )
        if exists is None:
            raise _not_found()
        rows = await conn.fetch(
            f"SELECT {_DELIVERY} FROM webhook_deliveries d JOIN webhook_events ev"
            " ON ev.tenant_id = d.tenant_id AND ev.id = d.event_id"
            " WHERE d.tenant_id = $1 AND d.endpoint_id = $2"
            " AND ($3::bigint IS NULL OR d.seq < $3) ORDER BY d.seq DESC LIMIT $4",
            tenant_id,
            endpoint_id,
            after[0] if after else None,
            limit + 1,
        )
        page = rows[:limit]
        attempts = await conn.fetch(
            "SELECT delivery_id, at, status_code, error, duration_ms FROM webhook_attempts"
            " WHERE tenant_id = $1 AND delivery_id = ANY($2::uuid[]) ORDER BY delivery_id, n",
            tenant_id,
            [r["id"] for r in page],
        )
        by_delivery: dict[UUID, list[Attempt]] = {}
        for a in attempts:
            by_delivery.setdefault(a["delivery_id"], []).append(
                Attempt(
                    at=a["at"],
                    status_code=a["status_code"],
                    error=a["error"],
                    duration_ms=a["duration_ms"],
                )
            )
        items = [_delivery(r, by_delivery.get(r["id"], [])) for r in page]
        more = len(rows) > limit
        return Page(items=items, next_cursor=encode_cursor(page[-1]["seq"]) if more else None)

    async def redeliver(self, *, tenant_id: UUID, endpoint_id: UUID, delivery_id: UUID) -> None:
        status = await self._conn.execute(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(),"
            " round_attempts = 0, updated_at = now()"
            " WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3",
            tenant_id,
            endpoint_id,
            delivery_id,
        )
        if status.endswith(" 0"):
            raise NotFound("delivery not found")
        self._queued()
