"""SQL of the write path: one statement stores a batch of answers and their outbox rows."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from domain.model import SurveyResponse
from domain.outcomes import IngestResult, Outcome
from infra.postgres.categories import category_sql
from infra.postgres.idempotency import LOCK_SPACE
from infra.postgres.outbox import OutboxRow
from infra.postgres.responses import COLUMNS, to_response

_encode = msgspec.json.encode

# Answers to unknown or archived surveys are filtered by the join; a repeated external_id
# is skipped by ON CONFLICT. Every stored answer gets its outbox row, and a follow-up case
# when its category is one the tenant follows up, in the same statement. `hooks` tells
# which webhook events the tenants subscribe to, so payloads are built only when needed.
# Idempotency-Keys are claimed here too, each under an advisory lock taken without waiting:
# the answers of a request whose key is locked (still running elsewhere) or recorded before
# are not stored. The claim is written complete, with the outcome the request expects to get.
_INSERT = """
WITH input AS (
    SELECT * FROM ROWS FROM (json_to_recordset($1::json) AS (
        tenant_id uuid, id uuid, survey_id uuid, score int2, comment text, customer_id text,
        segments jsonb, answered_at timestamptz, received_at timestamptz, local_date date,
        locale text, external_id text
    )) WITH ORDINALITY AS u(tenant_id, id, survey_id, score, comment, customer_id, segments,
                           answered_at, received_at, local_date, locale, external_id, ord)
), claims AS MATERIALIZED (
    SELECT c.tenant_id, c.key, decode(c.request_hash, 'base64') AS request_hash,
           decode(c.outcome, 'base64') AS outcome, c.first, c.last,
           pg_try_advisory_xact_lock($3, hashtext(c.tenant_id::text || c.key)) AS locked
    FROM json_to_recordset($2::json) AS c(tenant_id uuid, key text, request_hash text,
                                          outcome text, first int, last int)
), claimed AS (
    INSERT INTO idempotency_keys AS k (tenant_id, key, request_hash, outcome, completed_at)
    SELECT tenant_id, key, request_hash, outcome, now() FROM claims WHERE locked
    ON CONFLICT (tenant_id, key) DO UPDATE
        SET request_hash = EXCLUDED.request_hash, outcome = EXCLUDED.outcome,
            created_at = now(), completed_at = now()
        WHERE k.completed_at IS NULL  -- left incomplete by a request that died (older code)
    RETURNING tenant_id, key
), outcome AS (  -- per key: locked now, and claimed by this statement (else not theirs)
    SELECT c.tenant_id, c.key, c.first, c.last, c.locked,
           EXISTS (SELECT 1 FROM claimed x WHERE x.tenant_id = c.tenant_id AND x.key = c.key)
               AS won
    FROM claims c
), stored AS (
    INSERT INTO responses (tenant_id, id, survey_id, score, comment, customer_id, segments,
                           answered_at, received_at, local_date, locale, external_id)
    SELECT u.tenant_id, u.id, u.survey_id, u.score, u.comment, u.customer_id, u.segments,
           u.answered_at, u.received_at, u.local_date, u.locale, u.external_id
    FROM input u
    JOIN surveys s ON s.tenant_id = u.tenant_id AND s.id = u.survey_id AND s.archived_at IS NULL
    WHERE NOT EXISTS (
        SELECT 1 FROM outcome f WHERE NOT f.won AND u.ord BETWEEN f.first AND f.last
    )
    ORDER BY u.ord
    ON CONFLICT (tenant_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
    RETURNING tenant_id, id, survey_id, local_date, score, segments, received_at
), cases AS (
    INSERT INTO followups (tenant_id, id, response_id, due_at, created_at, updated_at)
    SELECT s.tenant_id, gen_random_uuid(), s.id,
           s.received_at + make_interval(hours => t.followup_sla_hours),
           s.received_at, s.received_at
    FROM stored s JOIN tenants t ON t.id = s.tenant_id
    WHERE {CATEGORY} = ANY (t.followup_categories)
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
-- One row per tenant of the outbox rows and of the cases (their columns as arrays: a few
-- rows decode much faster than one per answer), per listened tenant and per key. Joined in
-- Python: a join of two CTE scans here would be a nested loop over both. Outbox ids are
-- drawn in the order the answers are inserted (the input's), so `ids` keeps that order.
SELECT 'o' AS kind, o.tenant_id, min(o.xid) AS xid, array_agg(o.id ORDER BY o.id) AS ids,
       array_agg(o.response_id ORDER BY o.id) AS responses, NULL::uuid[] AS cases,
       NULL::timestamptz[] AS due, NULL::text[] AS hooks, NULL::text AS claim_key,
       NULL::boolean AS locked, NULL::boolean AS claimed
FROM outbox o GROUP BY o.tenant_id
UNION ALL
SELECT 'c', c.tenant_id, NULL, NULL, array_agg(c.response_id), array_agg(c.id),
       array_agg(c.due_at), NULL, NULL, NULL, NULL
FROM cases c GROUP BY c.tenant_id
UNION ALL
SELECT 'h', h.tenant_id, NULL, NULL, NULL, NULL, NULL, h.types, NULL, NULL, NULL FROM hooks h
UNION ALL
SELECT 'k', l.tenant_id, NULL, NULL, NULL, NULL, NULL, NULL, l.key, l.locked, l.won
FROM outcome l
""".replace("{CATEGORY}", category_sql("s.score"))


class ClaimState(enum.Enum):
    CLAIMED = "claimed"  # this request runs: its answers are stored now
    BUSY = "busy"  # another request with this key is running
    TAKEN = "taken"  # recorded by an earlier request: replay it, or 422 for another body


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    """A key to claim for the answers at positions first..last (1-based) of the batch."""

    tenant_id: UUID
    key: str
    request_hash: bytes
    outcome: bytes  # the expected outcome, encoded (infra.postgres.idempotency)
    first: int
    last: int


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
    conn: asyncpg.Connection, responses: Sequence[SurveyResponse], *, claims: Sequence[Claim] = ()
) -> Inserted:
    """Store what can be stored: the answers stored now, their outbox rows and cases.

    The answers travel as one JSON document (one encode, no per-value work in Python);
    `claims` are the Idempotency-Keys of the requests they belong to.
    """
    rows = await conn.fetch(_INSERT, _encode(responses), _encode(claims), LOCK_SPACE)
    outbox, cases, hooks, states = [], {}, {}, {}
    for row in rows:
        kind = row["kind"]
        if kind == "o":
            xid = row["xid"]
            for outbox_id, answer in zip(row["ids"], _stored_in_order(responses, row), strict=True):
                outbox.append(
                    OutboxRow(
                        id=outbox_id,
                        xid=xid,
                        tenant_id=answer.tenant_id,
                        response_id=answer.id,
                        survey_id=answer.survey_id,
                        local_date=answer.local_date,
                        score=answer.score,
                        segments=answer.segments,
                        delta=1,
                    )
                )
        elif kind == "c":
            for response_id, case_id, due in zip(
                row["responses"], row["cases"], row["due"], strict=True
            ):
                cases[response_id] = (case_id, due)
        elif kind == "h":
            hooks[row["tenant_id"]] = frozenset(row["hooks"])
        else:
            state = ClaimState.CLAIMED if row["claimed"] else ClaimState.TAKEN
            key = (row["tenant_id"], row["claim_key"])
            states[key] = state if row["locked"] else ClaimState.BUSY
    return Inserted(outbox=outbox, followups=cases, hooks=hooks, claims=states)


def _stored_in_order(
    responses: Sequence[SurveyResponse], row: asyncpg.Record
) -> Sequence[SurveyResponse]:
    """The answers of one tenant's outbox row, in its order: the input itself when every
    answer of the batch was stored (no id to look up), else found by id."""
    ids = row["responses"]
    if len(ids) == len(responses) and ids[0] == responses[0].id and ids[-1] == responses[-1].id:
        return responses
    by_id = {r.id: r for r in responses}
    return [by_id[i] for i in ids]


async def resolve_not_created(
    conn: asyncpg.Connection, responses: Sequence[SurveyResponse]
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
