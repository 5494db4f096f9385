"""Ports: what the use-cases need from the outside world, as Protocols."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self
from uuid import UUID

import msgspec

from domain.idempotency import IdempotencyClaim, Ingested
from domain.keys import ParsedKey
from domain.model import (
    ApiKey,
    Page,
    Principal,
    ResultQuery,
    SegmentFilter,
    Survey,
    SurveyResponse,
    Tenant,
)
from domain.nps import Category, Histogram
from domain.ratelimit import Decision, Limit, TenantLimits

if TYPE_CHECKING:  # entities of modules whose use-cases import these ports
    from domain.customers import (
        AuditEntry,
        CustomerChange,
        CustomerFilter,
        CustomerProfile,
        Erasure,
    )
    from domain.decisions import ChangeRecord, Target
    from domain.digest import DigestPeriod, DigestSchedule, DueDigest, ScheduledDigest
    from domain.followups import (
        Case,
        CaseChange,
        CaseFilter,
        CaseTimes,
        Note,
        Recovery,
        Settings,
    )
    from domain.insights import CommentRow
    from domain.webhooks import Delivery, Endpoint, QueuedDelivery, WebhookEvent


class ResponseFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Filters of the answer listing (all optional, AND-ed)."""

    tenant_id: UUID
    survey_id: UUID | None = None
    start: date | None = None
    end: date | None = None
    category: str | None = None
    segments: tuple[tuple[str, str], ...] = ()


class TenantRepository(Protocol):
    async def add(self, tenant: Tenant) -> None: ...
    async def get(self, tenant_id: UUID) -> Tenant: ...
    async def set_limits(self, tenant_id: UUID, limits: TenantLimits) -> Tenant: ...
    async def list(self, *, limit: int, cursor: str | None) -> Page[Tenant]: ...


class ApiKeyRepository(Protocol):
    async def add(self, key: ApiKey, *, secret_hash: bytes) -> None: ...
    async def revoke(self, *, tenant_id: UUID, key_id: UUID) -> None: ...
    async def list(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[ApiKey]: ...
    async def principal(
        self, *, tenant_id: UUID, key_id: UUID, secret_hash: bytes
    ) -> Principal | None: ...
    async def live(self, *, tenant_id: UUID, key_id: UUID) -> TenantLimits | None:
        """The rate limit overrides of a live key's tenant; None when the key is not live."""
        ...

    async def allow_origins(
        self, *, tenant_id: UUID, key_id: UUID, origins: Sequence[str], until: datetime
    ) -> None:
        """Let preflights from `origins` pass until `until` (browser tokens of this key)."""


class SurveyRepository(Protocol):
    async def add(self, survey: Survey) -> None: ...
    async def get(self, *, tenant_id: UUID, survey_id: UUID) -> Survey: ...
    async def list(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[Survey]: ...
    async def save(self, survey: Survey) -> None: ...


class ResponseRepository(Protocol):
    async def get(self, *, tenant_id: UUID, response_id: UUID) -> SurveyResponse: ...
    async def list(
        self, flt: ResponseFilter, *, limit: int, cursor: str | None
    ) -> Page[SurveyResponse]: ...
    def stream(self, flt: ResponseFilter) -> AsyncIterator[SurveyResponse]:
        """Every matching answer, oldest first, without holding them all in memory (a
        server-side cursor in the unit of work's transaction)."""
        ...


class ChangeRepository(Protocol):
    async def add(self, change: ChangeRecord) -> None: ...
    async def get(self, *, tenant_id: UUID, change_id: UUID) -> ChangeRecord: ...
    async def save(self, change: ChangeRecord) -> None: ...
    async def delete(self, *, tenant_id: UUID, change_id: UUID) -> None: ...
    async def list(
        self, *, tenant_id: UUID, start: date | None, end: date | None, survey_id: UUID | None
    ) -> list[ChangeRecord]: ...
    async def page(
        self,
        *,
        tenant_id: UUID,
        start: date | None,
        end: date | None,
        survey_id: UUID | None,
        limit: int,
        cursor: str | None,
    ) -> Page[ChangeRecord]:
        """By (effective_on, id), a page at a time."""
        ...


class TargetRepository(Protocol):
    async def upsert(self, target: Target) -> Target: ...
    async def list(self, *, tenant_id: UUID) -> list[Target]: ...
    async def page(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[Target]:
        """By (created_at, id), a page at a time."""
        ...

    async def delete(self, *, tenant_id: UUID, target_id: UUID) -> None: ...


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


class CommentRepository(Protocol):
    async def comments(
        self, query: ResultQuery, *, cap: int, marked: tuple[SegmentFilter, ...] = ()
    ) -> tuple[list[CommentRow], int]:
        """Commented, not excluded answers of the query, newest first, at most `cap`; and
        how many there are in all."""
        ...

    async def others(self, query: ResultQuery, *, start: date, cap: int) -> list[str]:
        """The tenant's newest commented, not excluded answers from `start` to the query's
        end that the query does not match (any survey, any segment), at most `cap`."""
        ...


class CommentAnalyzer(Protocol):
    def terms(self, text: str) -> tuple[str, tuple[str, ...]]:
        """(language, distinct terms) of one comment."""
        ...


class DigestScheduleRepository(Protocol):
    async def get(self, *, tenant_id: UUID) -> DigestSchedule: ...

    async def put(
        self, *, tenant_id: UUID, schedule: DigestSchedule, now: datetime
    ) -> DigestSchedule: ...

    async def scheduled(self) -> list[ScheduledDigest]:
        """Every enabled schedule, of every tenant."""
        ...

    async def sent(self, due: Sequence[DueDigest]) -> set[tuple[UUID, DigestPeriod, date]]:
        """The (tenant, period, start) of those digests that have been sent."""
        ...

    async def claim(self, due: DueDigest, *, event: WebhookEvent, now: datetime) -> bool:
        """Record the digest's period as sent and queue its event; False, writing nothing,
        when it was sent already or another transaction is claiming it (no waiting)."""
        ...


class TargetCache(Protocol):
    """A tenant's targets kept for a moment: every result reads them."""

    def get(self, tenant_id: UUID) -> list[Target] | None: ...
    def put(self, tenant_id: UUID, targets: list[Target]) -> None: ...
    def drop(self, tenant_id: UUID) -> None: ...


class FollowupRepository(Protocol):
    """Follow-up cases of a tenant; writes queue their webhook events in the same transaction."""

    async def get(self, *, tenant_id: UUID, case_id: UUID, lock: bool = False) -> Case:
        """The case with its notes; `lock` holds it until the transaction ends."""
        ...

    async def update(
        self, *, tenant_id: UUID, case_id: UUID, change: CaseChange, now: datetime
    ) -> Case:
        """Write `change` (a reopened case gets a fresh deadline); queues followup.updated."""
        ...

    async def add_note(
        self, *, tenant_id: UUID, case_id: UUID, author: str, text: str, now: datetime
    ) -> Note: ...

    async def stats(
        self, flt: CaseFilter, *, start: datetime, end: datetime, now: datetime
    ) -> tuple[list[CaseTimes], Recovery]: ...

    async def settings(self, *, tenant_id: UUID) -> Settings: ...

    async def update_settings(
        self,
        *,
        tenant_id: UUID,
        categories: Sequence[Category] | None,
        sla_hours: int | None,
        now: datetime,
        retention_months: int | msgspec.UnsetType | None = msgspec.UNSET,
    ) -> Settings: ...

    async def list(self, flt: CaseFilter, *, limit: int, cursor: str | None) -> Page[Case]: ...


class WebhookRepository(Protocol):
    """A tenant's webhook endpoints and their deliveries."""

    async def add(self, endpoint: Endpoint, *, secret: str) -> None: ...
    async def get(self, *, tenant_id: UUID, endpoint_id: UUID) -> Endpoint: ...
    async def list(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[Endpoint]: ...
    async def save(self, endpoint: Endpoint) -> None: ...
    async def delete(self, *, tenant_id: UUID, endpoint_id: UUID) -> None: ...
    async def rotate_secret(
        self, *, tenant_id: UUID, endpoint_id: UUID, secret: str, old_expires_at: datetime
    ) -> Endpoint: ...
    async def enqueue_for(self, event: WebhookEvent, *, endpoint_id: UUID) -> QueuedDelivery: ...
    async def deliveries(
        self, *, tenant_id: UUID, endpoint_id: UUID, limit: int, cursor: str | None
    ) -> Page[Delivery]: ...
    async def redeliver(self, *, tenant_id: UUID, endpoint_id: UUID, delivery_id: UUID) -> None: ...


class TargetGuard(Protocol):
    """Refuses (InvalidInput on `url`) targets that resolve to non-public addresses."""

    async def check(self, url: str) -> None: ...


class UnitOfWork(Protocol):
    """One PostgreSQL transaction spanning every repository it exposes."""

    tenants: TenantRepository
    keys: ApiKeyRepository
    surveys: SurveyRepository
    responses: ResponseRepository
    changes: ChangeRepository
    targets: TargetRepository
    histograms: HistogramSource  # the PostgreSQL aggregate: always answers
    customers: CustomerRepository
    followups: FollowupRepository
    webhooks: WebhookRepository
    comments: CommentRepository
    digest_schedules: DigestScheduleRepository

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens the one transaction of a use-case.

    `tenant_id` names the tenant whose data the work touches (every tenant use-case passes
    it; the transaction is scoped to that tenant); None only for work across tenants
    (the operator's tenant list and creation).
    """

    def __call__(self, tenant_id: UUID | None = None) -> UnitOfWork: ...


class HistogramSource(Protocol):
    """Sums of the 11-bin histograms for a query, by bucket groups or by dimension value.

    The counter store answers None when its counters cannot be trusted (not ready);
    the PostgreSQL source always answers.
    """

    async def histograms(
        self, query: ResultQuery, periods: Sequence[tuple[date, date]]
    ) -> list[Histogram] | None: ...

    async def breakdown(
        self, query: ResultQuery, dimension: str
    ) -> dict[str, Histogram] | None: ...


class Ingestor(Protocol):
    """Stores answers durably and counts them; returns one result per answer, in order."""

    async def ingest(
        self,
        tenant_id: UUID,
        responses: Sequence[SurveyResponse],
        *,
        idempotency: IdempotencyClaim | None = None,
    ) -> Ingested: ...

    async def set_excluded(
        self, tenant_id: UUID, response_id: UUID, *, excluded: bool, reason: str | None
    ) -> SurveyResponse:
        """Exclude an answer from (or return it to) every calculation; it stays stored."""
        ...


class RateLimiter(Protocol):
    """Checks a cost against one or more limits at once, all or nothing.

    `tag` groups the buckets that are checked together (they live in one Redis cluster
    slot): a tenant id for its key and tenant buckets, `ip:<address>` for an address.
    Each bucket is `(name, limit)`, its key being `tag` + `name`. With `consume=False`
    nothing is spent: the answer says whether the cost would pass now.
    """

    async def check(
        self,
        tag: str,
        buckets: Sequence[tuple[str, Limit]],
        *,
        cost: int = 1,
        consume: bool = True,
    ) -> Decision: ...


class CounterInitializer(Protocol):
    async def init_tenant(self, tenant_id: UUID) -> None: ...


class PrincipalCache(Protocol):
    """Recently authenticated keys, so that a request needs no database round trip."""

    def get(self, token: str) -> Principal | None: ...
    def put(self, token: str, parsed: ParsedKey, principal: Principal) -> None: ...
    def issuer_live(self, tenant_id: UUID, key_id: UUID) -> bool: ...
    def mark_issuer_live(
        self, tenant_id: UUID, key_id: UUID, limits: TenantLimits | None = None
    ) -> None: ...
    def issuer_limits(self, tenant_id: UUID, key_id: UUID) -> TenantLimits | None: ...
    async def revoked(self, *, tenant_id: UUID, key_id: UUID) -> None: ...
    async def tenant_changed(self, tenant_id: UUID) -> None: ...
