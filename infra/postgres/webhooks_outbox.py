"""Webhook outbox: events and their deliveries, written in the transaction that caused them."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg
import msgspec

from domain.webhooks import EventType, QueuedDelivery, WebhookEvent, new_event_id

_KNOWN = frozenset(EventType)

# One round trip. `targets` joins the events with the enabled, subscribed endpoints of their
# tenants (primary-key look-ups); when it is empty nothing is inserted at all.
_ENQUEUE = """
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[])
        WITH ORDINALITY AS i (id, tenant_id, type, data, created_at, ord)
), targets AS (
    SELECT i.tenant_id, i.id AS event_id, e.id AS endpoint_id, i.ord, i.created_at
    FROM input i
    JOIN webhook_endpoints e
      ON e.tenant_id = i.tenant_id AND e.enabled AND i.type = ANY (e.events)
), events AS (
    INSERT INTO webhook_events (tenant_id, id, type, data, created_at)
    SELECT i.tenant_id, i.id, i.type, i.data::jsonb, i.created_at
    FROM input i
    WHERE i.id IN (SELECT event_id FROM targets)
)
INSERT INTO webhook_deliveries
    (tenant_id, id, endpoint_id, event_id, next_attempt_at, created_at, updated_at)
SELECT t.tenant_id, gen_random_uuid(), t.endpoint_id, t.event_id, now(), now(), now()
FROM targets t
ORDER BY t.ord, t.endpoint_id
"""

_ENQUEUE_ONE = """
WITH endpoint AS (
    SELECT id FROM webhook_endpoints WHERE tenant_id = $1::uuid AND id = $6::uuid
), event AS (
    INSERT INTO webhook_events (tenant_id, id, type, data, created_at)
    SELECT $1::uuid, $2::text, $3::text, $4::text::jsonb, $5::timestamptz FROM endpoint
)
INSERT INTO webhook_deliveries
    (tenant_id, id, endpoint_id, event_id, next_attempt_at, created_at, updated_at)
SELECT $1::uuid, gen_random_uuid(), endpoint.id, $2::text, now(), now(), now() FROM endpoint
RETURNING id
"""


async def enqueue_events(conn: asyncpg.Connection, events: Sequence[WebhookEvent]) -> int:
    """Queue `events` for every enabled endpoint of their tenant subscribed to their type.

    Runs inside the caller's transaction (the change and its events commit together);
    returns the number of deliveries created (0, cheaply, when nobody subscribes).
    """
    if not events:
        return 0
    unknown = {e.type for e in events} - _KNOWN
    if unknown:
        raise ValueError(f"unknown webhook event types: {sorted(unknown)}")
    status = await conn.execute(
        _ENQUEUE,
        [new_event_id() for _ in events],
        [e.tenant_id for e in events],
        [e.type for e in events],
        [msgspec.json.encode(e.data).decode() for e in events],
        [e.created_at for e in events],
    )
    return int(status.rsplit(" ", 1)[1])


async def enqueue_for_endpoint(
    conn: asyncpg.Connection, event: WebhookEvent, *, endpoint_id: UUID
) -> QueuedDelivery | None:
    """Queue one event for one endpoint of its tenant (enabled or not); None: no such endpoint."""
    event_id = new_event_id()
    delivery_id = await conn.fetchval(
        _ENQUEUE_ONE,
        event.tenant_id,
        event_id,
        event.type,
        msgspec.json.encode(event.data).decode(),
        event.created_at,
        endpoint_id,
    )
    if delivery_id is None:
        return None
    return QueuedDelivery(delivery_id=delivery_id, event_id=event_id)
