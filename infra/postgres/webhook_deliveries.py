"""The relay's SQL: claim due deliveries under a lease, record attempts, release endpoints.

The relay is a system process: claiming looks across tenants (like the counter drainer);
every statement after the claim is keyed by (tenant_id, id). `PgDeliveryQueue` runs on a
unit of work's connection; the relay (infra/webhooks/relay.py) opens the units of work.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import asyncpg
import msgspec

from domain.webhook_signing import FAILING_DISABLES_AFTER


class ClaimedDelivery(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: UUID
    id: UUID
    seq: int
    event_id: str
    event_type: str
    data_json: str
    event_created_at: str
    round_attempts: int


class ClaimedEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: UUID
    id: UUID
    url: str
    secrets: list[str]  # the current one first; the previous one while it still signs
    deliveries: list[ClaimedDelivery]


# Endpoints are the unit of a claim: one relay at a time per endpoint keeps event order.
_CLAIM_ENDPOINTS = """
WITH claimable AS (
    SELECT e.tenant_id, e.id FROM webhook_endpoints e
    WHERE e.enabled AND e.lease_until <= now()
      AND EXISTS (
        SELECT 1 FROM webhook_deliveries d
        WHERE d.tenant_id = e.tenant_id AND d.endpoint_id = e.id
          AND d.status = 'pending' AND d.next_attempt_at <= now())
    ORDER BY e.lease_until
    LIMIT $1
    FOR UPDATE OF e SKIP LOCKED
)
UPDATE webhook_endpoints e SET lease_until = now() + $2 * interval '1 second'
FROM claimable c WHERE e.tenant_id = c.tenant_id AND e.id = c.id
RETURNING e.tenant_id, e.id, e.url, e.secret,
    CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END AS previous_secret
"""

_CLAIM_DELIVERIES = """
WITH picked AS (
    SELECT d.tenant_id, d.id
    FROM unnest($1::uuid[], $2::uuid[]) AS ep (tenant_id, id)
    CROSS JOIN LATERAL (
        SELECT d.tenant_id, d.id FROM webhook_deliveries d
        WHERE d.tenant_id = ep.tenant_id AND d.endpoint_id = ep.id
          AND d.status = 'pending' AND d.next_attempt_at <= now()
        ORDER BY d.seq
        LIMIT $3
        FOR UPDATE SKIP LOCKED
    ) d
)
UPDATE webhook_deliveries d SET next_attempt_at = now() + $4 * interval '1 second'
FROM picked, webhook_events ev
WHERE d.tenant_id = picked.tenant_id AND d.id = picked.id
  AND ev.tenant_id = d.tenant_id AND ev.id = d.event_id
RETURNING d.tenant_id, d.id, d.endpoint_id, d.seq, d.event_id, d.round_attempts,
    ev.type AS event_type, ev.data::text AS data_json,
    to_json(ev.created_at)::text AS event_created_at
"""


_RECORD = """
WITH d AS (
    UPDATE webhook_deliveries SET attempts = attempts + 1, round_attempts = round_attempts + 1,
        status = $3, last_status_code = $4, last_error = $5,
        next_attempt_at = now() + $6 * interval '1 second', updated_at = now()
    WHERE tenant_id = $1 AND id = $2
    RETURNING tenant_id, id, attempts
)
INSERT INTO webhook_attempts (tenant_id, delivery_id, n, at, status_code, error, duration_ms)
SELECT tenant_id, id, attempts, now(), $4, $5, $7 FROM d
"""

# On failure: remember since when it fails; disable on 410 or after a day of failures.
_ENDPOINT_OUTCOME = """
WITH verdict AS (
    SELECT tenant_id, id,
        NOT $3 AND enabled
        AND ($4 OR coalesce(failing_since, now()) <= now() - $5::interval) AS disable
    FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2
)
UPDATE webhook_endpoints e SET
    failing_since = CASE WHEN $3 THEN NULL ELSE coalesce(e.failing_since, now()) END,
    enabled = e.enabled AND NOT v.disable,
    disabled_reason = CASE
        WHEN NOT v.disable THEN e.disabled_reason
        WHEN $4 THEN 'the endpoint answered 410 Gone'
        ELSE 'every delivery failed for 24 hours' END,
    updated_at = CASE WHEN v.disable THEN now() ELSE e.updated_at END
FROM verdict v WHERE e.tenant_id = v.tenant_id AND e.id = v.id
RETURNING e.enabled
"""

# Events past the keeping time with nothing left to send, their deliveries and attempts.
_PURGE = """
WITH old AS (
    SELECT ev.tenant_id, ev.id FROM webhook_events ev
    WHERE ev.created_at < now() - $1::interval
      AND NOT EXISTS (
        SELECT 1 FROM webhook_deliveries d
        WHERE d.tenant_id = ev.tenant_id AND d.event_id = ev.id AND d.status = 'pending')
    ORDER BY ev.created_at
    LIMIT $2
), deliveries AS (
    DELETE FROM webhook_deliveries d USING old
    WHERE d.tenant_id = old.tenant_id AND d.event_id = old.id
)
DELETE FROM webhook_events ev USING old WHERE ev.tenant_id = old.tenant_id AND ev.id = old.id
"""


class PgDeliveryQueue:
    """The relay's statements, on a unit of work's connection (the relay opens the units)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def claim_due(
        self, *, endpoints: int, per_endpoint: int, lease_s: float
    ) -> list[ClaimedEndpoint]:
        """Lease up to `endpoints` endpoints with due deliveries and their oldest due ones.

        The relay commits the claim before anything is sent: another relay skips them
        until the lease ends.
        """
        eps = await self._conn.fetch(_CLAIM_ENDPOINTS, endpoints, lease_s)
        if not eps:
            return []
        rows = await self._conn.fetch(
            _CLAIM_DELIVERIES,
            [e["tenant_id"] for e in eps],
            [e["id"] for e in eps],
            per_endpoint,
            lease_s,
        )
        return _claimed(eps, rows)

    async def record_attempt(
        self,
        *,
        tenant_id: UUID,
        endpoint_id: UUID,
        delivery_id: UUID,
        status: str,
        status_code: int | None,
        error: str | None,
        retry_in_s: float | None,
        duration_ms: int,
        gone: bool,
    ) -> bool:
        """Record one attempt and its outcome; returns whether the endpoint is still enabled."""
        succeeded = status == "succeeded"
        await self._conn.execute(
            _RECORD, tenant_id, delivery_id, status, status_code, error, retry_in_s, duration_ms
        )
        enabled = await self._conn.fetchval(
            _ENDPOINT_OUTCOME, tenant_id, endpoint_id, succeeded, gone, FAILING_DISABLES_AFTER
        )
        return bool(enabled)

    async def release(self, *, tenant_id: UUID, endpoint_id: UUID) -> None:
        """End an endpoint's lease: due deliveries may be claimed again right away."""
        await self._conn.execute(
            "UPDATE webhook_endpoints SET lease_until = now() WHERE tenant_id = $1 AND id = $2",
            tenant_id,
            endpoint_id,
        )

    async def purge_batch(self, *, keep: timedelta, batch: int) -> int:
        """Forget up to `batch` finished events older than `keep` (with their deliveries
        and attempts); returns how many."""
        status = await self._conn.execute(_PURGE, keep, batch)
        return int(status.rsplit(" ", 1)[1])


def _claimed(eps: list[asyncpg.Record], rows: list[asyncpg.Record]) -> list[ClaimedEndpoint]:
    by_endpoint: dict[tuple[UUID, UUID], list[ClaimedDelivery]] = {}
    for r in sorted(rows, key=lambda r: r["seq"]):
        by_endpoint.setdefault((r["tenant_id"], r["endpoint_id"]), []).append(
            ClaimedDelivery(
                tenant_id=r["tenant_id"],
                id=r["id"],
                seq=r["seq"],
                event_id=r["event_id"],
                event_type=r["event_type"],
                data_json=r["data_json"],
                event_created_at=msgspec.json.decode(r["event_created_at"]),
                round_attempts=r["round_attempts"],
            )
        )
    return [
        ClaimedEndpoint(
            tenant_id=e["tenant_id"],
            id=e["id"],
            url=e["url"],
            secrets=[s for s in (e["secret"], e["previous_secret"]) if s],
            deliveries=by_endpoint.get((e["tenant_id"], e["id"]), []),
        )
        for e in eps
    ]
