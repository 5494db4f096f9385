"""Customers as CRMs see them: their latest score and history; erasure of personal data."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

import msgspec

from domain.model import Page, Response
from domain.nps import Category


class CustomerProfile(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    latest: Response | None  # the newest answer not excluded; None when every one is
    responses_count: int
    first_answered_at: datetime
    last_answered_at: datetime
    history: list[Response]  # newest first, at most 20
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
    latest: Response | None  # None when every answer of theirs is excluded
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


class CustomerRepository(Protocol):
    async def profile(self, *, tenant_id: UUID, customer_id: str) -> CustomerProfile: ...

    async def erase(
        self, *, tenant_id: UUID, customer_id: str, actor_key_id: UUID, now: datetime
    ) -> Erasure: ...

    async def audit(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[AuditEntry]:
        """Newest first (created_at, id)."""
        ...

    async def changed(
        self,
        *,
        tenant_id: UUID,
        flt: CustomerFilter,
        limit: int,
        cursor: str | None,
        now: datetime,
    ) -> Page[CustomerChange]:
        """Customers changed at or after `flt.since` and matching the filter, oldest change
        first (updated_at, id)."""
        ...

    def stream(
        self, *, tenant_id: UUID, flt: CustomerFilter, now: datetime
    ) -> AsyncIterator[CustomerChange]:
        """Every customer `changed` would list, page after page, without holding them all."""
        ...
