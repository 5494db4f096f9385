"""Webhook outbox: events and their deliveries, written in the transaction that caused them."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg
import msgspec

from domain.webhooks import EventType, QueuedDelivery, WebhookEvent, new_event_id

_KNOWN = frozenset(EventType)

# One round trip. `subs` are the enabled endpoints of the events' tenants (one index probe
# per distinct tenant); when none subscribes, `targets` is empty and nothing else runs:
# no event id is drawn, no payload parsed, no row inserted. Ids are drawn only for events
# that have a target (`msg_` and 32 random hex digits, as new_event_id makes them).
_ENQUEUE = """
WITH subs AS (
    SELECT e.tenant_id, e.id, e.events FROM webhook_endpoints e
    WHERE e.tenant_id = ANY ($1::uuid[]) AND e.enabled
), input AS (
    SELECT * FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS i (tenant_id, type, ord)
), targets AS (
    SELECT i.ord, i.tenant_id, i.type, s.id AS endpoint_id
    FROM input i JOIN subs s ON s.tenant_id = i.tenant_id AND i.type = ANY (s.events)
), events AS MATERIALIZED (
    SELECT ord, tenant_id, type, 'msg_' || replace(gen_random_uuid()::text, '-', '') AS id
    FROM (SELECT DISTINCT ord, tenant_id, type FROM targets) t
), inserted AS (
    INSERT INTO webhook_events (tenant_id, id, type, data, created_at)
    SELECT ev.tenant_id, ev.id, ev.type, d.data::jsonb, d.created_at
    FROM events ev
    JOIN unnest($3::text[], $4::timestamptz[]) WITH ORDINALITY AS d (data, created_at, ord)
      ON d.ord = ev.ord
)
INSERT INTO webhook_deliveries
    (tenant_id, id, endpoint_id, event_id, next_attempt_at, created_at, updated_at)
SELECT t.tenant_id, gen_random_uuid(), t.endpoint_id, ev.id, now(), now(), now()
FROM targets t JOIN events ev ON ev.ord = t.ord
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
