"""Use-cases of surveys."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import msgspec

from domain.model import Page, Survey, SurveyKind
from domain.ports import UnitOfWorkFactory


class SurveyChanges(msgspec.Struct, frozen=True, kw_only=True):
    """Fields to change; UNSET leaves a field as it is."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    kind: SurveyKind | msgspec.UnsetType = msgspec.UNSET
    question: str | msgspec.UnsetType | None = msgspec.UNSET


async def create_survey(
    *,
    tenant_id: UUID,
    name: str,
    kind: SurveyKind,
    question: str | None,
    now: datetime,
    uow: UnitOfWorkFactory,
) -> Survey:
    survey = Survey(
        id=uuid4(),
        tenant_id=tenant_id,
        name=name,
        question=question,
        kind=kind,
        created_at=now,
        updated_at=now,
    )
    async with uow(tenant_id) as tx:
        await tx.surveys.add(survey)
    return survey


async def get_survey(*, tenant_id: UUID, survey_id: UUID, uow: UnitOfWorkFactory) -> Survey:
    async with uow(tenant_id) as tx:
        return await tx.surveys.get(tenant_id=tenant_id, survey_id=survey_id)


async def list_surveys(
    *, tenant_id: UUID, limit: int, cursor: str | None, uow: UnitOfWorkFactory
) -> Page[Survey]:
    async with uow(tenant_id) as tx:
        return await tx.surveys.list(tenant_id=tenant_id, limit=limit, cursor=cursor)


async def update_survey(
    *,
    tenant_id: UUID,
    survey_id: UUID,
    changes: SurveyChanges,
    now: datetime,
    uow: UnitOfWorkFactory,
) -> Survey:
    async with uow(tenant_id) as tx:
        survey = await tx.surveys.get(tenant_id=tenant_id, survey_id=survey_id)
        fields = {
            k: v for k, v in msgspec.structs.asdict(changes).items() if v is not msgspec.UNSET
        }
        updated = msgspec.structs.replace(survey, **fields, updated_at=now)
        await tx.surveys.save(updated)
    return updated


async def archive_survey(
    *, tenant_id: UUID, survey_id: UUID, now: datetime, uow: UnitOfWorkFactory
) -> Survey:
    """Archived surveys keep their results and refuse new answers; archiving twice is a no-op."""
    async with uow(tenant_id) as tx:
        survey = await tx.surveys.get(tenant_id=tenant_id, survey_id=survey_id)
        if survey.archived_at is not None:
            return survey
        archived = msgspec.structs.replace(survey, archived_at=now, updated_at=now)
        await tx.surveys.save(archived)
    return archived
