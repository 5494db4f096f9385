"""Customers as CRMs see them: their latest score and history; erasure of personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from domain.model import Page, Response


class CustomerProfile(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    latest: Response
    responses_count: int
    first_answered_at: datetime
    last_answered_at: datetime
    history: list[Response]  # newest first, at most 20
    open_followups: int = 0


class CustomerChange(msgspec.Struct, frozen=True, kw_only=True):
    """One customer in the change feed: when their data last changed and where they stand."""

    customer_id: str
    updated_at: datetime
    latest: Response | None  # None when every answer of theirs is excluded
    responses_count: int
    open_followups: int


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
        self, *, tenant_id: UUID, since: datetime | None, limit: int, cursor: str | None
    ) -> Page[CustomerChange]:
        """Customers changed at or after `since`, oldest change first (updated_at, id)."""
        ...
