"""Customer profiles from the answers, and erasure of a customer's personal data."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg
import msgspec

from domain.customers import (
    AuditEntry,
    CustomerChange,
    CustomerFilter,
    CustomerProfile,
    Erasure,
)
from domain.errors import NotFound
from domain.model import Page, SurveyResponse
from infra.postgres.cursor import after_key, keyset_page
from infra.postgres.customer_lists import changed_query, customer_change, open_followups_sql
from infra.postgres.responses import COLUMNS, to_response

HISTORY = 20
EXPORT_PAGE = 1000
REDACTED = "[redacted]"

# The tenant's clock row stays locked until commit, so stamps commit in increasing order:
# a change that commits later always sorts after every change a reader has already seen.
_CLOCK = """
INSERT INTO customer_clock AS c (tenant_id, last) VALUES ($1, clock_timestamp())
ON CONFLICT (tenant_id) DO UPDATE
    SET last = greatest(clock_timestamp(), c.last + interval '1 microsecond')
RETURNING last
"""
# The two newest of rows x(id, score, day, at), newest first, as arrays.
_TOP_TWO = """array_agg(x.id ORDER BY x.at DESC, x.id DESC) AS ids,
       array_agg(x.score ORDER BY x.at DESC, x.id DESC) AS scores,
       array_agg(x.day ORDER BY x.at DESC, x.id DESC) AS dates,
       array_agg(x.at ORDER BY x.at DESC, x.id DESC) AS ats"""
# Where each customer stands, recomputed from their answers: the latest and previous ones that
# are not excluded (after an exclusion or an erasure changed which answers count). A
# statement of its own, after the clock lock is held: its snapshot then sees every answer
# that an earlier holder of the lock committed (one statement would read a snapshot taken
# before it waited for the lock, and could miss a concurrent answer of the same customer).
_RESTAND = f"""
INSERT INTO customers AS c (tenant_id, customer_id, updated_at, latest_response_id,
                            latest_score, latest_local_date, latest_answered_at,
                            previous_response_id, previous_score, previous_answered_at)
SELECT $1, ids.customer_id, $3, s.ids[1], s.scores[1], s.dates[1], s.ats[1], s.ids[2],
       s.scores[2], s.ats[2]
FROM unnest($2::text[]) AS ids(customer_id)
CROSS JOIN LATERAL (
    SELECT {_TOP_TWO}
    FROM (
        SELECT r.id, r.score, r.local_date AS day, r.answered_at AS at FROM responses r
        WHERE r.tenant_id = $1 AND r.customer_id = ids.customer_id AND NOT r.excluded
        ORDER BY r.answered_at DESC, r.id DESC LIMIT 2
    ) x
) s
ON CONFLICT (tenant_id, customer_id) DO UPDATE
    SET updated_at = EXCLUDED.updated_at, latest_response_id = EXCLUDED.latest_response_id,
        latest_score = EXCLUDED.latest_score, latest_local_date = EXCLUDED.latest_local_date,
        latest_answered_at = EXCLUDED.latest_answered_at,
        previous_response_id = EXCLUDED.previous_response_id,
        previous_score = EXCLUDED.previous_score,
        previous_answered_at = EXCLUDED.previous_answered_at
"""
# New answers move a customer's standing from the customer row alone: the two newest of
# the stored latest and previous answers and the new ones (answers may be backdated). No
# look-up in `responses`, whose plan would depend on its statistics. Under the clock lock,
# the conflicting row is read at its newest committed version.
_ANSWERED = f"""
INSERT INTO customers AS c (tenant_id, customer_id, updated_at, latest_response_id,
                            latest_score, latest_local_date, latest_answered_at,
                            previous_response_id, previous_score, previous_answered_at)
SELECT $1, n.customer_id, $2, n.ids[1], n.scores[1], n.dates[1], n.ats[1], n.ids[2],
       n.scores[2], n.ats[2]
FROM (
    SELECT x.customer_id, {_TOP_TWO}
    FROM unnest($3::text[], $4::uuid[], $5::int2[], $6::timestamptz[], $7::date[])
         AS x(customer_id, id, score, at, day)
    GROUP BY x.customer_id
) n
ORDER BY n.customer_id
ON CONFLICT (tenant_id, customer_id) DO UPDATE
SET (updated_at, latest_response_id, latest_score, latest_local_date, latest_answered_at,
     previous_response_id, previous_score, previous_answered_at) = (
    SELECT EXCLUDED.updated_at, m.ids[1], m.scores[1], m.dates[1], m.ats[1], m.ids[2],
           m.scores[2], m.ats[2]
    FROM (SELECT {_TOP_TWO}
        FROM (VALUES
            (c.latest_response_id, c.latest_score, c.latest_local_date, c.latest_answered_at),
            (c.previous_response_id, c.previous_score, NULL::date, c.previous_answered_at),
            (EXCLUDED.latest_response_id, EXCLUDED.latest_score, EXCLUDED.latest_local_date,
             EXCLUDED.latest_answered_at),
            (EXCLUDED.previous_response_id, EXCLUDED.previous_score, NULL::date,
             EXCLUDED.previous_answered_at)
        ) AS x(id, score, day, at)
        WHERE x.id IS NOT NULL
    ) m
)
"""
# Something a CRM reads about the customer changed (a follow-up case): a new change stamp.
_RESTAMP = """
UPDATE customers SET updated_at = $3 WHERE tenant_id = $1 AND customer_id = ANY($2::text[])
"""


_OPEN_FOLLOWUPS = open_followups_sql("$1", "$2")
# Webhook events kept for delivery and history carry the answer or case: the same fields
# are erased there (deliveries still pending send the redacted payload).
_SCRUB_EVENTS = """
UPDATE webhook_events e
SET data = e.data || jsonb_build_object('customer_id', NULL, 'comment', NULL)
    || CASE WHEN e.data ? 'notes' THEN jsonb_build_object('notes', (
           SELECT coalesce(jsonb_agg(n || jsonb_build_object('text', $3::text)), '[]'::jsonb)
           FROM jsonb_array_elements(e.data -> 'notes') AS n))
       ELSE '{}'::jsonb END
WHERE e.tenant_id = $1 AND (e.data ->> 'customer_id' = ANY($2::text[])
    OR e.data ->> 'response_id' = ANY($4::text[])
    OR (e.type LIKE 'response.%' AND e.data ->> 'id' = ANY($4::text[])))
"""
_REDACT_NOTES = """
UPDATE followup_notes n SET text = $3 FROM followups f
WHERE n.tenant_id = $1 AND f.tenant_id = $1 AND n.followup_id = f.id
  AND f.response_id = ANY($2::uuid[]) AND n.text <> $3
"""
# A customer with no answer left that carries their id is forgotten.
_FORGET_CUSTOMERS = """
DELETE FROM customers c
WHERE c.tenant_id = $1 AND c.customer_id = ANY($2::text[]) AND NOT EXISTS (
    SELECT 1 FROM responses r WHERE r.tenant_id = $1 AND r.customer_id = c.customer_id)
"""


class Forgotten(msgspec.Struct, frozen=True, kw_only=True):
    answers: int
    notes: int
    webhook_events: int


async def forget_answers(
    conn: asyncpg.Connection, tenant_id: UUID, where: str, *args: object
) -> Forgotten:
    """Remove customer id and comment from the tenant's answers matching `where` (SQL over
    `responses`, its arguments from $2), redact their follow-up notes and the webhook events
    that carry them, and forget customers left without answers. Scores stay counted.

    The one redaction both erasure and retention use; run it inside the caller's transaction.
    """
    erased = await conn.fetch(
        "WITH old AS (SELECT id, customer_id FROM responses"
        f" WHERE tenant_id = $1 AND ({where}) FOR UPDATE)"
        " UPDATE responses r SET customer_id = NULL, comment = NULL FROM old"
        " WHERE r.tenant_id = $1 AND r.id = old.id RETURNING r.id, old.customer_id",
        tenant_id,
        *args,
    )
    ids = [r["id"] for r in erased]
    customers = sorted({r["customer_id"] for r in erased if r["customer_id"] is not None})
    notes = await conn.execute(_REDACT_NOTES, tenant_id, ids, REDACTED)
    await conn.execute(_FORGET_CUSTOMERS, tenant_id, customers)
    # Customers who keep newer answers stand elsewhere now (their previous answer may be
    # gone): their standing and change stamp are written again.
    kept = await conn.fetch(
        "SELECT customer_id FROM customers WHERE tenant_id = $1 AND customer_id = ANY($2::text[])",
        tenant_id,
        customers,
    )
    await touch_customers(conn, tenant_id, [r["customer_id"] for r in kept])
    events = await conn.execute(
        _SCRUB_EVENTS, tenant_id, customers, REDACTED, [str(i) for i in ids]
    )
    return Forgotten(
        answers=len(erased),
        notes=int(notes.split()[-1]),
        webhook_events=int(events.split()[-1]),
    )


async def touch_customers(
    conn: asyncpg.Connection, tenant_id: UUID, customer_ids: Sequence[str]
) -> None:
    """Stamp customers as changed now, their standing recomputed from their answers; run it
    last in the transaction (it holds a row lock)."""
    await _stamp(conn, tenant_id, _RESTAND, customer_ids)


async def restamp_customers(
    conn: asyncpg.Connection, tenant_id: UUID, customer_ids: Sequence[str]
) -> None:
    """Stamp customers as changed now, their standing as it is (a follow-up case of theirs
    changed); last in the transaction (it holds a row lock)."""
    await _stamp(conn, tenant_id, _RESTAMP, customer_ids)


async def _stamp(
    conn: asyncpg.Connection, tenant_id: UUID, sql: str, customer_ids: Sequence[str]
) -> None:
    """Take the tenant's clock, then run `sql` ($1 tenant, $2 customer ids, $3 stamp)."""
    if customer_ids:
        stamp = await conn.fetchval(_CLOCK, tenant_id)
        await conn.execute(sql, tenant_id, sorted(set(customer_ids)), stamp)


async def customers_answered(
    conn: asyncpg.Connection, tenant_id: UUID, answers: Sequence[SurveyResponse]
) -> None:
    """New answers (stored in this transaction, none excluded) move their customers'
    standing and change stamp; answers without a customer are skipped. Last in the
    transaction (it holds a row lock)."""
    mine = [r for r in answers if r.customer_id is not None]
    if not mine:
        return
    stamp = await conn.fetchval(_CLOCK, tenant_id)
    await conn.execute(
        _ANSWERED,
        tenant_id,
        stamp,
        [r.customer_id for r in mine],
        [r.id for r in mine],
        [r.score for r in mine],
        [r.answered_at for r in mine],
        [r.local_date for r in mine],
    )


def _fingerprint(tenant_id: UUID, customer_id: str) -> str:
    """Lets an operator match an erasure request to its log entry without keeping the id."""
    return hashlib.sha256(f"{tenant_id}:{customer_id}".encode()).hexdigest()[:16]


# The newest answer not excluded, as kept on the customer row (the list filters read it too).
_LATEST = f"""
SELECT {COLUMNS} FROM responses
WHERE tenant_id = $1
  AND id = (SELECT latest_response_id FROM customers WHERE tenant_id = $1 AND customer_id = $2)
"""


class PgCustomerRepository:
    """Implements domain.ports.CustomerRepository on a unit of work's connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def profile(self, *, tenant_id: UUID, customer_id: str) -> CustomerProfile:
        conn = self._conn
        stats = await conn.fetchrow(
            "SELECT count(*) AS n, min(answered_at) AS first, max(answered_at) AS last"
            " FROM responses WHERE tenant_id = $1 AND customer_id = $2",
            tenant_id,
            customer_id,
        )
        if not stats["n"]:
            raise NotFound("customer not found")
        open_followups = await conn.fetchval(_OPEN_FOLLOWUPS, tenant_id, customer_id)
        rows = await conn.fetch(
            f"SELECT {COLUMNS} FROM responses WHERE tenant_id = $1 AND customer_id = $2"
            " ORDER BY answered_at DESC, id DESC LIMIT $3",
            tenant_id,
            customer_id,
            HISTORY,
        )
        latest = await conn.fetchrow(_LATEST, tenant_id, customer_id)
        history = [to_response(r) for r in rows]
        return CustomerProfile(
            customer_id=customer_id,
            latest=to_response(latest) if latest is not None else None,
            responses_count=stats["n"],
            first_answered_at=stats["first"],
            last_answered_at=stats["last"],
            history=history,
            open_followups=open_followups,
        )

    async def erase(
        self, *, tenant_id: UUID, customer_id: str, actor_key_id: UUID, now: datetime
    ) -> Erasure:
        """Remove the customer id and comments from every answer; scores stay counted.

        Raises NotFound when no answer carries the id; the caller's transaction then rolls
        back whatever was started."""
        entry = uuid4()
        forgotten = await forget_answers(self._conn, tenant_id, "customer_id = $2", customer_id)
        count = forgotten.answers
        if count == 0:
            raise NotFound("customer not found")
        await self._conn.execute(
            "INSERT INTO audit_log (tenant_id, id, action, actor_key_id, details, created_at)"
            " VALUES ($1, $2, 'customer.erased', $3, $4, $5)",
            tenant_id,
            entry,
            actor_key_id,
            {
                "answers_anonymised": count,
                "webhook_events_redacted": forgotten.webhook_events,
                "fingerprint": _fingerprint(tenant_id, customer_id),
            },
            now,
        )
        return Erasure(id=entry, answers_anonymised=count, erased_at=now)

    async def audit(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[AuditEntry]:
        after_at, after_id = after_key(cursor, tuple[datetime, UUID])
        rows = await self._conn.fetch(
            "SELECT id, action, actor_key_id, details, created_at FROM audit_log"
            " WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))"
            " ORDER BY created_at DESC, id DESC LIMIT $4",
            tenant_id,
            after_at,
            after_id,
            limit + 1,
        )
        entries = [
            AuditEntry(
                id=r["id"],
                action=r["action"],
                actor_key_id=r["actor_key_id"],
                details=r["details"],
                created_at=r["created_at"],
            )
            for r in rows
        ]
        return keyset_page(entries, limit, lambda e: (e.created_at, e.id))

    async def changed(
        self,
        *,
        tenant_id: UUID,
        flt: CustomerFilter,
        limit: int,
        cursor: str | None,
        now: datetime,
    ) -> Page[CustomerChange]:
        after = after_key(cursor, tuple[datetime, str])
        sql, args = changed_query(tenant_id, flt, after, now)
        rows = await self._conn.fetch(sql, *args, limit + 1)
        changes = [customer_change(r) for r in rows]
        return keyset_page(changes, limit, lambda c: (c.updated_at, c.customer_id))

    async def stream(
        self, *, tenant_id: UUID, flt: CustomerFilter, now: datetime
    ) -> AsyncIterator[CustomerChange]:
        """Page after page of `changed`, in the caller's transaction."""
        cursor: str | None = None
        while True:
            page = await self.changed(
                tenant_id=tenant_id, flt=flt, limit=EXPORT_PAGE, cursor=cursor, now=now
            )
            for change in page.items:
                yield change
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
