"""Follow-up case rows: the shared SELECT and filter, and their mapping to domain cases."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from domain.errors import NotFound
from domain.followups import Case, CaseFilter, Note, Status

SELECT_CASE = """
SELECT f.id, f.response_id, r.survey_id, r.customer_id, r.score, r.comment, r.segments,
       f.status, f.owner, f.due_at, f.first_contact_at, f.closed_at, f.resolution,
       f.created_at, f.updated_at
FROM followups f JOIN responses r ON r.tenant_id = f.tenant_id AND r.id = f.response_id
"""
# $1 tenant, $2 status, $3 owner, $4 overdue at, $5 survey, $6 segments (jsonb containment)
CASE_FILTER = """
f.tenant_id = $1 AND ($2::text IS NULL OR f.status = $2) AND ($3::text IS NULL OR f.owner = $3)
AND ($4::timestamptz IS NULL OR (f.status <> 'closed' AND f.due_at < $4))
AND ($5::uuid IS NULL OR r.survey_id = $5) AND r.segments @> $6::jsonb
"""


def case_filter_args(flt: CaseFilter) -> list[object]:
    status = flt.status.value if flt.status else None
    return [flt.tenant_id, status, flt.owner, flt.overdue_at, flt.survey_id, flt.segments]


def case_from_row(row: asyncpg.Record, notes: list[Note]) -> Case:
    return Case(
        id=row["id"],
        response_id=row["response_id"],
        survey_id=row["survey_id"],
        customer_id=row["customer_id"],
        score=row["score"],
        comment=row["comment"],
        segments=row["segments"],
        status=Status(row["status"]),
        owner=row["owner"],
        due_at=row["due_at"],
        first_contact_at=row["first_contact_at"],
        closed_at=row["closed_at"],
        resolution=row["resolution"],
        notes=notes,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def fetch_notes(
    conn: asyncpg.Connection, tenant_id: UUID, ids: list[UUID]
) -> dict[UUID, list]:
    rows = await conn.fetch(
        "SELECT followup_id, id, author, text, created_at FROM followup_notes"
        " WHERE tenant_id = $1 AND followup_id = ANY($2::uuid[]) ORDER BY created_at, id",
        tenant_id,
        ids,
    )
    out: dict[UUID, list[Note]] = {i: [] for i in ids}
    for r in rows:
        out[r["followup_id"]].append(
            Note(id=r["id"], author=r["author"], text=r["text"], created_at=r["created_at"])
        )
    return out


async def fetch_case(
    conn: asyncpg.Connection, tenant_id: UUID, case_id: UUID, *, lock: bool = False
) -> Case:
    """The case with its notes; `lock` holds its row until the transaction ends."""
    sql = f"{SELECT_CASE} WHERE f.tenant_id = $1 AND f.id = $2"
    row = await conn.fetchrow(sql + (" FOR UPDATE OF f" if lock else ""), tenant_id, case_id)
    if row is None:
        raise NotFound("follow-up case not found")
    return case_from_row(row, (await fetch_notes(conn, tenant_id, [case_id]))[case_id])
