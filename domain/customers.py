"""Customers as CRMs see them: their latest score and history; erasure of personal data."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from datetime import date, datetime
from uuid import UUID

import msgspec

from domain.model import Page, SurveyResponse
from domain.nps import Category
from domain.ports import UnitOfWorkFactory


class CustomerProfile(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    latest: SurveyResponse | None  # the newest answer not excluded; None when every one is
    responses_count: int
    first_answered_at: datetime
    last_answered_at: datetime
    history: list[SurveyResponse]  # newest first, at most 20
    open_followups: int = 0


class FollowupState(enum.StrEnum):
    """The state of the case opened for a customer's latest answer."""

    NONE = "none"  # no case
    OPEN = "open"  # open or in progress
    OVERDUE = "overdue"  # open or in progress, past its deadline
    CLOSED = "closed"


class Trend(enum.StrEnum):
    DOWN = "down"  # the latest answer's category is worse than the previous one's
    UP = "up"


# The order in which `trend` compares answers; SQL's nps_category_rank (migration 010) is
# tied to it and to domain.nps.classify by a test.
CATEGORY_RANK = {Category.DETRACTOR: 0, Category.PASSIVE: 1, Category.PROMOTER: 2}


class CustomerFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Filters of the customer list, on the latest and previous answers not excluded."""

    since: datetime | None = None
    category: Category | None = None
    answered_from: date | None = None  # the latest answer's local day
    answered_to: date | None = None
    followup: FollowupState | None = None
    trend: Trend | None = None


class CustomerChange(msgspec.Struct, frozen=True, kw_only=True):
    """One customer in the change feed: when their data last changed and where they stand."""

    customer_id: str
    updated_at: datetime
    latest: SurveyResponse | None  # None when every answer of theirs is excluded
    responses_count: int
    open_followups: int
    previous_category: Category | None = None  # of the answer before the latest
    followup_status: str | None = None  # of the latest answer's case; None: no case
    followup_overdue: bool = False


class Erasure(msgspec.Struct, frozen=True, kw_only=True):
    """What an erasure did, as recorded in the audit log (never the erased data itself)."""

    id: UUID
    answers_anonymised: int
    erased_at: datetime


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    action: str
    actor_key_id: UUID | None
    details: dict[str, object]
    created_at: datetime


async def customer_profile(
    *, tenant_id: UUID, customer_id: str, uow: UnitOfWorkFactory
) -> CustomerProfile:
    async with uow(tenant_id) as tx:
        return await tx.customers.profile(tenant_id=tenant_id, customer_id=customer_id)


async def changed_customers(
    *,
    tenant_id: UUID,
    flt: CustomerFilter,
    limit: int,
    cursor: str | None,
    now: datetime,
    uow: UnitOfWorkFactory,
) -> Page[CustomerChange]:
    async with uow(tenant_id) as tx:
        return await tx.customers.changed(
            tenant_id=tenant_id, flt=flt, limit=limit, cursor=cursor, now=now
        )


async def export_customers(
    *, tenant_id: UUID, flt: CustomerFilter, now: datetime, uow: UnitOfWorkFactory
) -> AsyncIterator[CustomerChange]:
    """Every customer `changed_customers` would list, in one unit of work held while the
    export streams (it ends, rolled back, when the client goes away)."""
    async with uow(tenant_id) as tx:
        async for change in tx.customers.stream(tenant_id=tenant_id, flt=flt, now=now):
            yield change


async def erase_customer(
    *,
    tenant_id: UUID,
    customer_id: str,
    actor_key_id: UUID,
    now: datetime,
    uow: UnitOfWorkFactory,
) -> Erasure:
    """Anonymise every answer of the customer and record it in the audit log, atomically."""
    async with uow(tenant_id) as tx:
        return await tx.customers.erase(
            tenant_id=tenant_id, customer_id=customer_id, actor_key_id=actor_key_id, now=now
        )


async def audit_log(
    *, tenant_id: UUID, limit: int, cursor: str | None, uow: UnitOfWorkFactory
) -> Page[AuditEntry]:
    async with uow(tenant_id) as tx:
        return await tx.customers.audit(tenant_id=tenant_id, limit=limit, cursor=cursor)
