"""SQL of the write path: one statement stores a batch of answers and their outbox rows."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from domain.model import Response
from domain.responses import IngestResult, Outcome
from infra.postgres.idempotency import LOCK_SPACE
from infra.postgres.outbox import OutboxRow
from infra.postgres.responses import COLUMNS, to_response

# Answers to unknown or archived surveys are filtered by the join; a repeated external_id
# is skipped by ON CONFLICT. Every stored answer gets its outbox row, and a follow-up case
# when its category is one the tenant follows up, in the same statement. `hooks` tells
# which webhook events the tenants subscribe to, so payloads are built only when needed.
# Idempotency-Keys are claimed here too, each under an advisory lock taken without waiting:
# the answers of a request whose key is locked (still running elsewhere) or recorded before
# are not stored. The claim is written complete, with the answer the request expects to get.
_INSERT = """
WITH input AS (
    SELECT * FROM unnest(
        $1::uuid[], $2::uuid[], $3::uuid[], $4::int2[], $5::text[], $6::text[], $7::jsonb[],
        $8::timestamptz[], $9::timestamptz[], $10::date[], $11::text[], $12::text[],
        $13::text[]
    ) WITH ORDINALITY AS u(tenant_id, id, survey_id, score, comment, customer_id, segments,
                           answered_at, received_at, local_date, locale, external_id,
                           claim_key, ord)
), claims AS MATERIALIZED (
    SELECT c.*, pg_try_advisory_xact_lock($19, hashtext(c.tenant_id::text || c.key)) AS locked
    FROM unnest($14::uuid[], $15::text[], $16::bytea[], $17::int[], $18::bytea[])
        AS c(tenant_id, key, request_hash, status, body)
), claimed AS (
    INSERT INTO idempotency_keys AS k (tenant_id, key, request_hash, status_code, body,
                                       completed_at)
    SELECT tenant_id, key, request_hash, status, body, now() FROM claims WHERE locked
    ON CONFLICT (tenant_id, key) DO UPDATE
        SET request_hash = EXCLUDED.request_hash, status_code = EXCLUDED.status_code,
            body = EXCLUDED.body, created_at = now(), completed_at = now()
        WHERE k.completed_at IS NULL  -- left incomplete by a request that died (older code)
    RETURNING tenant_id, key
), stored AS (
    INSERT INTO responses (tenant_id, id, survey_id, score, comment, customer_id, segments,
                           answered_at, received_at, local_date, locale, external_id)
    SELECT u.tenant_id, u.id, u.survey_id, u.score, u.comment, u.customer_id, u.segments,
           u.answered_at, u.received_at, u.local_date, u.locale, u.external_id
    FROM input u
    JOIN surveys s ON s.tenant_id = u.tenant_id AND s.id = u.survey_id AND s.archived_at IS NULL
    WHERE u.claim_key IS NULL
       OR EXISTS (SELECT 1 FROM claimed c WHERE c.tenant_id = u.tenant_id AND c.key = u.claim_key)
    ORDER BY u.ord
    ON CONFLICT (tenant_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
    RETURNING tenant_id, id, survey_id, local_date, score, segments, received_at
), cases AS (
    INSERT INTO followups (tenant_id, id, response_id, due_at, created_at, updated_at)
    SELECT s.tenant_id, gen_random_uuid(), s.id,
           s.received_at + make_interval(hours => t.followup_sla_hours),
           s.received_at, s.received_at
    FROM stored s JOIN tenants t ON t.id = s.tenant_id
    WHERE CASE WHEN s.score >= 9 THEN 'promoter' WHEN s.score >= 7 THEN 'passive'
               ELSE 'detractor' END = ANY (t.followup_categories)
    RETURNING tenant_id, id, response_id, due_at
), outbox AS (
    INSERT INTO counter_outbox (tenant_id, response_id, survey_id, local_date, score, segments,
                                delta)
    SELECT tenant_id, id, survey_id, local_date, score, segments, 1 FROM stored
    RETURNING id, xid::text AS xid, tenant_id, response_id
), hooks AS (
    SELECT e.tenant_id, array_agg(DISTINCT t.type) AS types
    FROM webhook_endpoints e CROSS JOIN LATERAL unnest(e.events) AS t (type)
    WHERE e.enabled AND e.tenant_id IN (SELECT DISTINCT tenant_id FROM input)
    GROUP BY e.tenant_id
)
SELECT o.id, o.xid, o.tenant_id, o.response_id, c.id AS followup_id,
       c.due_at AS followup_due_at, h.types AS hooks, NULL::text AS claim_key,
       NULL::boolean AS locked, NULL::boolean AS claimed
FROM outbox o
LEFT JOIN cases c ON c.tenant_id = o.tenant_id AND c.response_id = o.response_id
LEFT JOIN hooks h ON h.tenant_id = o.tenant_id
UNION ALL
SELECT NULL, NULL, l.tenant_id, NULL, NULL, NULL, NULL, l.key, l.locked,
       EXISTS (SELECT 1 FROM claimed c WHERE c.tenant_id = l.tenant_id AND c.key = l.key)
FROM claims l
"""


class ClaimState(enum.Enum):
    CLAIMED = "claimed"  # this request runs: its answers are stored now
    BUSY = "busy"  # another request with this key is running
    TAKEN = "taken"  # recorded by an earlier request: replay it, or 422 for another body


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: UUID
    key: str
    request_hash: bytes
    status_code: int
    body: bytes


class Inserted(msgspec.Struct, frozen=True, kw_only=True):
    outbox: list[OutboxRow]  # one per answer stored now
    followups: dict[UUID, tuple[UUID, datetime]]  # response id -> (case id, due_at)
    hooks: dict[UUID, frozenset[str]]  # tenant -> webhook event types someone subscribes to
    claims: dict[tuple[UUID, str], ClaimState]


_RESOLVE = f"""
SELECT u.ord, s.id IS NOT NULL AS survey_found, s.archived_at IS NOT NULL AS archived,
       r.{COLUMNS.replace(", ", ", r.")}
FROM unnest($1::uuid[], $2::uuid[], $3::text[]) WITH ORDINALITY AS u(tenant_id, survey_id,
                                                                    external_id, ord)
LEFT JOIN surveys s ON s.tenant_id = u.tenant_id AND s.id = u.survey_id
LEFT JOIN responses r ON r.tenant_id = u.tenant_id AND r.external_id = u.external_id
ORDER BY u.ord
"""


async def insert_responses(
    conn: asyncpg.Connection,
    responses: Sequence[Response],
    *,
    claim_keys: Sequence[str | None] = (),
    claims: Sequence[Claim] = (),
) -> Inserted:
    """Store what can be stored: the answers stored now, their outbox rows and cases.

    `claim_keys[i]` is the Idempotency-Key of the request `responses[i]` belongs to (None
    for none); `claims` are those keys with the answers their requests expect.
    """
    columns: list[list[object]] = [[] for _ in range(13)]
    keys = claim_keys or [None] * len(responses)
    for r, key in zip(responses, keys, strict=True):
        values = (
            r.tenant_id,
            r.id,
            r.survey_id,
            r.score,
            r.comment,
            r.customer_id,
            r.segments,
            r.answered_at,
            r.received_at,
            r.local_date,
            r.locale,
            r.external_id,
            key,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    rows = await conn.fetch(
        _INSERT,
        *columns,
        [c.tenant_id for c in claims],
        [c.key for c in claims],
        [c.request_hash for c in claims],
        [c.status_code for c in claims],
        [c.body for c in claims],
        LOCK_SPACE,
    )
    by_id = {r.id: r for r in responses}
    outbox, cases, hooks, states = [], {}, {}, {}
    for row in rows:
        if row["claim_key"] is not None:
            state = ClaimState.CLAIMED if row["claimed"] else ClaimState.TAKEN
            states[(row["tenant_id"], row["claim_key"])] = (
                state if row["locked"] else ClaimState.BUSY
            )
            continue
        answer = by_id[row["response_id"]]
        outbox.append(
            OutboxRow(
                id=row["id"],
                xid=row["xid"],
                tenant_id=answer.tenant_id,
                response_id=answer.id,
                survey_id=answer.survey_id,
                local_date=answer.local_date,
                score=answer.score,
                segments=answer.segments,
                delta=1,
            )
        )
        if row["followup_id"]:
            cases[answer.id] = (row["followup_id"], row["followup_due_at"])
        if row["hooks"]:
            hooks[answer.tenant_id] = frozenset(row["hooks"])
    return Inserted(outbox=outbox, followups=cases, hooks=hooks, claims=states)


async def resolve_not_created(
    conn: asyncpg.Connection, responses: Sequence[Response]
) -> list[IngestResult]:
    """Why each answer was not stored: its external_id exists, or its survey is gone/archived."""
    rows = await conn.fetch(
        _RESOLVE,
        [r.tenant_id for r in responses],
        [r.survey_id for r in responses],
        [r.external_id for r in responses],
    )
    results = []
    for row in rows:
        if row["id"] is not None:
            results.append(IngestResult(outcome=Outcome.EXISTING, response=to_response(row)))
        elif not row["survey_found"]:
            results.append(IngestResult(outcome=Outcome.SURVEY_NOT_FOUND))
        else:
            results.append(IngestResult(outcome=Outcome.SURVEY_ARCHIVED))
    return results
