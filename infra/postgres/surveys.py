"""Surveys."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from domain.errors import NotFound
from domain.model import Page, Survey, SurveyKind
from infra.postgres.cursor import after_key, keyset_page

_COLUMNS = "id, tenant_id, name, question, kind, created_at, updated_at, archived_at"


def _survey(row: asyncpg.Record) -> Survey:
    return Survey(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        question=row["question"],
        kind=SurveyKind(row["kind"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        archived_at=row["archived_at"],
    )


class PgSurveyRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, survey: Survey) -> None:
        await self._conn.execute(
            f"INSERT INTO surveys ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            survey.id,
            survey.tenant_id,
            survey.name,
            survey.question,
            str(survey.kind),
            survey.created_at,
            survey.updated_at,
            survey.archived_at,
        )

    async def get(self, *, tenant_id: UUID, survey_id: UUID) -> Survey:
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM surveys WHERE tenant_id = $1 AND id = $2", tenant_id, survey_id
        )
        if row is None:
            raise NotFound("survey not found")
        return _survey(row)

    async def list(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[Survey]:
        after_at, after_id = after_key(cursor, tuple[datetime, UUID])
        rows = await self._conn.fetch(
            f"SELECT {_COLUMNS} FROM surveys WHERE tenant_id = $1"
            " AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))"
            " ORDER BY created_at DESC, id DESC LIMIT $4",
            tenant_id,
            after_at,
            after_id,
            limit + 1,
        )
        return keyset_page([_survey(r) for r in rows], limit, lambda x: (x.created_at, x.id))

    async def save(self, survey: Survey) -> None:
        await self._conn.execute(
            "UPDATE surveys SET name = $3, question = $4, kind = $5, updated_at = $6,"
            " archived_at = $7 WHERE tenant_id = $1 AND id = $2",
            survey.tenant_id,
            survey.id,
            survey.name,
            survey.question,
            str(survey.kind),
            survey.updated_at,
            survey.archived_at,
        )
