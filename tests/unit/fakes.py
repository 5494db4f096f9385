"""In-memory fakes of the domain's ports (unit tests only)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Self
from uuid import UUID, uuid4

import msgspec

from domain.decisions import ChangeRecord, Target
from domain.digest import DigestPeriod, DigestSchedule, DueDigest, ScheduledDigest
from domain.errors import NotFound
from domain.followups import Case, CaseChange, CaseFilter, CaseTimes, Note, Recovery, Settings
from domain.idempotency import IdempotencyClaim, Ingested, Recorded
from domain.insights import CommentRow
from domain.model import (
    ApiKey,
    Page,
    Principal,
    ResultQuery,
    Scope,
    SegmentFilter,
    Survey,
    SurveyResponse,
    Tenant,
)
from domain.nps import EMPTY_HISTOGRAM, Category, Histogram, add_histograms, histogram_of
from domain.outcomes import IngestResult, Outcome, RequestOutcome
from domain.ports import ResponseFilter
from domain.ratelimit import TenantLimits
from domain.webhooks import (
    Delivery,
    Endpoint,
    QueuedDelivery,
    WebhookEvent,
    new_event_id,
)


class FakeStore:
    def __init__(self) -> None:
        self.tenants: dict[UUID, Tenant] = {}
        self.keys: dict[tuple[UUID, UUID], tuple[ApiKey, bytes]] = {}
        self.surveys: dict[tuple[UUID, UUID], Survey] = {}
        self.responses: list[SurveyResponse] = []
        self.token_origins: set[str] = set()
        self.changes: dict[tuple[UUID, UUID], ChangeRecord] = {}
        self.targets: dict[tuple[UUID, UUID], Target] = {}
        self.cases: dict[tuple[UUID, UUID], Case] = {}
        self.case_events: list[tuple[UUID, UUID]] = []  # (tenant, case) of followup.updated
        self.followup_settings: dict[UUID, Settings] = {}
        self.endpoints: dict[UUID, Endpoint] = {}
        self.webhook_secrets: dict[UUID, str] = {}
        self.queued: list[tuple[WebhookEvent, UUID]] = []  # test events, per endpoint
        self.redelivered: list[UUID] = []
        self.digest_schedules: dict[UUID, tuple[DigestSchedule, str]] = {}  # with the zone
        self.digest_sends: set[tuple[UUID, DigestPeriod, date]] = set()
        self.events: list[WebhookEvent] = []


class FakeTenants:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(self, tenant: Tenant) -> None:
        self.s.tenants[tenant.id] = tenant

    async def get(self, tenant_id: UUID) -> Tenant:
        if tenant_id not in self.s.tenants:
            raise NotFound("tenant not found")
        return self.s.tenants[tenant_id]

    async def set_limits(self, tenant_id: UUID, limits: TenantLimits) -> Tenant:
        tenant = msgspec.structs.replace(await self.get(tenant_id), limits=limits)
        self.s.tenants[tenant_id] = tenant
        return tenant

    async def list(self, *, limit: int, cursor: str | None) -> Page[Tenant]:
        return Page(items=list(self.s.tenants.values())[:limit], next_cursor=None)


class FakeKeys:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(self, key: ApiKey, *, secret_hash: bytes) -> None:
        self.s.keys[(key.tenant_id, key.id)] = (key, secret_hash)

    async def list(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[ApiKey]:
        keys = [k for (t, _), (k, _) in self.s.keys.items() if t == tenant_id]
        return Page(items=keys[:limit], next_cursor=None)

    async def revoke(self, *, tenant_id: UUID, key_id: UUID) -> None:
        if (tenant_id, key_id) not in self.s.keys:
            raise NotFound("key not found")
        del self.s.keys[(tenant_id, key_id)]

    async def principal(
        self, *, tenant_id: UUID, key_id: UUID, secret_hash: bytes
    ) -> Principal | None:
        found = self.s.keys.get((tenant_id, key_id))
        if found is None or found[1] != secret_hash:
            return None
        key, tenant = found[0], self.s.tenants[tenant_id]
        return Principal(
            tenant_id=tenant_id,
            key_id=key_id,
            scopes=frozenset(key.scopes),
            timezone=tenant.timezone,
            kind=key.kind,
            surveys=key.surveys,
            origins=frozenset(key.origins),
            limits=tenant.limits if tenant.limits.custom else None,
        )

    async def live(self, *, tenant_id: UUID, key_id: UUID) -> TenantLimits | None:
        if (tenant_id, key_id) not in self.s.keys:
            return None
        return self.s.tenants[tenant_id].limits

    async def allow_origins(
        self, *, tenant_id: UUID, key_id: UUID, origins: Sequence[str], until: datetime
    ) -> None:
        self.s.token_origins.update(origins)


class FakeSurveys:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(self, survey: Survey) -> None:
        self.s.surveys[(survey.tenant_id, survey.id)] = survey

    async def get(self, *, tenant_id: UUID, survey_id: UUID) -> Survey:
        if (tenant_id, survey_id) not in self.s.surveys:
            raise NotFound("survey not found")
        return self.s.surveys[(tenant_id, survey_id)]

    async def list(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[Survey]:
        items = [s for (t, _), s in self.s.surveys.items() if t == tenant_id]
        return Page(items=items[:limit], next_cursor=None)

    async def save(self, survey: Survey) -> None:
        self.s.surveys[(survey.tenant_id, survey.id)] = survey


class FakeResponses:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def get(self, *, tenant_id: UUID, response_id: UUID) -> SurveyResponse:
        for r in self.s.responses:
            if r.tenant_id == tenant_id and r.id == response_id:
                return r
        raise NotFound("response not found")

    async def list(
        self, flt: ResponseFilter, *, limit: int, cursor: str | None
    ) -> Page[SurveyResponse]:
        items = [r for r in self.s.responses if r.tenant_id == flt.tenant_id]
        return Page(items=items[:limit], next_cursor=None)

    async def stream(self, flt: ResponseFilter) -> AsyncIterator[SurveyResponse]:
        for r in sorted(self.s.responses, key=lambda r: (r.answered_at, r.id)):
            if r.tenant_id == flt.tenant_id:
                yield r


class FakeChanges:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(self, change: ChangeRecord) -> None:
        self.s.changes[(change.tenant_id, change.id)] = change

    async def get(self, *, tenant_id: UUID, change_id: UUID) -> ChangeRecord:
        if (tenant_id, change_id) not in self.s.changes:
            raise NotFound("change not found")
        return self.s.changes[(tenant_id, change_id)]

    async def save(self, change: ChangeRecord) -> None:
        self.s.changes[(change.tenant_id, change.id)] = change

    async def delete(self, *, tenant_id: UUID, change_id: UUID) -> None:
        if self.s.changes.pop((tenant_id, change_id), None) is None:
            raise NotFound("change not found")

    async def list(
        self, *, tenant_id: UUID, start: date | None, end: date | None, survey_id: UUID | None
    ) -> list[ChangeRecord]:
        return sorted(
            (
                c
                for (t, _), c in self.s.changes.items()
                if t == tenant_id
                and (start is None or c.effective_on >= start)
                and (end is None or c.effective_on <= end)
                and (survey_id is None or c.survey_id == survey_id)
            ),
            key=lambda c: (c.effective_on, c.id),
        )

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
        found = await self.list(tenant_id=tenant_id, start=start, end=end, survey_id=survey_id)
        return Page(items=found[:limit], next_cursor=None)


class FakeTargets:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def upsert(self, target: Target) -> Target:
        for key, old in self.s.targets.items():
            same_scope = (old.survey_id, old.segment) == (target.survey_id, target.segment)
            if old.tenant_id == target.tenant_id and same_scope:
                kept = msgspec.structs.replace(old, nps=target.nps, updated_at=target.updated_at)
                self.s.targets[key] = kept
                return kept
        self.s.targets[(target.tenant_id, target.id)] = target
        return target

    async def list(self, *, tenant_id: UUID) -> list[Target]:
        return [t for (tid, _), t in self.s.targets.items() if tid == tenant_id]

    async def page(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[Target]:
        return Page(items=(await self.list(tenant_id=tenant_id))[:limit], next_cursor=None)

    async def delete(self, *, tenant_id: UUID, target_id: UUID) -> None:
        if self.s.targets.pop((tenant_id, target_id), None) is None:
            raise NotFound("target not found")


class FakeDigestSchedules:
    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def get(self, *, tenant_id: UUID) -> DigestSchedule:
        return self.s.digest_schedules.get(tenant_id, (DigestSchedule(), "UTC"))[0]

    async def put(
        self, *, tenant_id: UUID, schedule: DigestSchedule, now: datetime
    ) -> DigestSchedule:
        zone = self.s.tenants[tenant_id].timezone if tenant_id in self.s.tenants else "UTC"
        self.s.digest_schedules[tenant_id] = (schedule, zone)
        return schedule

    async def scheduled(self) -> list[ScheduledDigest]:
        return [
            ScheduledDigest(tenant_id=t, timezone=zone, schedule=schedule)
            for t, (schedule, zone) in self.s.digest_schedules.items()
            if schedule.enabled
        ]

    async def sent(self, due: Sequence[DueDigest]) -> set[tuple[UUID, DigestPeriod, date]]:
        keys = {(d.tenant_id, d.schedule.period, d.start) for d in due}
        return keys & self.s.digest_sends

    async def claim(self, due: DueDigest, *, event: WebhookEvent, now: datetime) -> bool:
        key = (due.tenant_id, due.schedule.period, due.start)
        if key in self.s.digest_sends:
            return False
        self.s.digest_sends.add(key)
        self.s.events.append(event)
        return True


class FakeComments:
    """Comments of the stored answers; `marked` filters are honoured, not the cap's count."""

    def __init__(self, store: FakeStore) -> None:
        self.s = store

    def _commented(self, q: ResultQuery, start: date) -> list[SurveyResponse]:
        return sorted(
            (
                r
                for r in self.s.responses
                if r.tenant_id == q.tenant_id and r.comment and start <= r.local_date <= q.end
            ),
            key=lambda r: (r.answered_at, r.id),
            reverse=True,
        )

    def _matches(self, r: SurveyResponse, q: ResultQuery) -> bool:
        in_survey = q.survey_id is None or r.survey_id == q.survey_id
        return in_survey and all(r.segments.get(f.dimension) == f.value for f in q.segments)

    async def comments(
        self, query: ResultQuery, *, cap: int, marked: tuple[SegmentFilter, ...] = ()
    ) -> tuple[list[CommentRow], int]:
        found = [r for r in self._commented(query, query.start) if self._matches(r, query)]
        rows = [
            CommentRow(
                response_id=r.id,
                score=r.score,
                answered_at=r.answered_at,
                comment=r.comment or "",
                marked=all(r.segments.get(f.dimension) == f.value for f in marked),
            )
            for r in found[:cap]
        ]
        return rows, len(found)

    async def others(self, query: ResultQuery, *, start: date, cap: int) -> list[str]:
        found = [r for r in self._commented(query, start) if not self._matches(r, query)]
        return [r.comment or "" for r in found[: max(cap, 0)]]


class FakeTargetCache:
    """Holds entries until dropped (no clock)."""

    def __init__(self) -> None:
        self.entries: dict[UUID, list[Target]] = {}

    def get(self, tenant_id: UUID) -> list[Target] | None:
        return self.entries.get(tenant_id)

    def put(self, tenant_id: UUID, targets: list[Target]) -> None:
        self.entries[tenant_id] = targets

    def drop(self, tenant_id: UUID) -> None:
        self.entries.pop(tenant_id, None)


class FakeFollowups:
    """Cases in memory; `locked` records the cases read with `lock=True`."""

    def __init__(self, store: FakeStore) -> None:
        self.s = store
        self.locked: list[UUID] = []

    async def get(self, *, tenant_id: UUID, case_id: UUID, lock: bool = False) -> Case:
        if (tenant_id, case_id) not in self.s.cases:
            raise NotFound("follow-up case not found")
        if lock:
            self.locked.append(case_id)
        return self.s.cases[(tenant_id, case_id)]

    async def update(
        self, *, tenant_id: UUID, case_id: UUID, change: CaseChange, now: datetime
    ) -> Case:
        case = msgspec.structs.replace(
            await self.get(tenant_id=tenant_id, case_id=case_id),
            **msgspec.structs.asdict(change),
            updated_at=now,
        )
        self.s.cases[(tenant_id, case_id)] = case
        self.s.case_events.append((tenant_id, case_id))
        return case

    async def add_note(
        self, *, tenant_id: UUID, case_id: UUID, author: str, text: str, now: datetime
    ) -> Note:
        case = await self.get(tenant_id=tenant_id, case_id=case_id)
        note = Note(id=uuid4(), author=author, text=text, created_at=now)
        self.s.cases[(tenant_id, case_id)] = msgspec.structs.replace(
            case, notes=[*case.notes, note], updated_at=now
        )
        self.s.case_events.append((tenant_id, case_id))
        return note

    async def stats(
        self, flt: CaseFilter, *, start: datetime, end: datetime, now: datetime
    ) -> tuple[list[CaseTimes], Recovery]:
        times = [
            CaseTimes(
                status=c.status,
                overdue=c.overdue(now),
                created_at=c.created_at,
                first_contact_at=c.first_contact_at,
                closed_at=c.closed_at,
            )
            for (t, _), c in self.s.cases.items()
            if t == flt.tenant_id and start <= c.created_at < end
        ]
        none = Recovery(customers=0, answered_again=0, promoters=0, passives=0, detractors=0)
        return times, none

    async def settings(self, *, tenant_id: UUID) -> Settings:
        return self.s.followup_settings.get(tenant_id, Settings())

    async def update_settings(
        self,
        *,
        tenant_id: UUID,
        categories: Sequence[Category] | None,
        sla_hours: int | None,
        now: datetime,
        retention_months: int | msgspec.UnsetType | None = msgspec.UNSET,
    ) -> Settings:
        old = await self.settings(tenant_id=tenant_id)
        new = Settings(
            followup_categories=old.followup_categories
            if categories is None
            else tuple(categories),
            followup_sla_hours=old.followup_sla_hours if sla_hours is None else sla_hours,
            retention_months=old.retention_months
            if retention_months is msgspec.UNSET
            else retention_months,
        )
        self.s.followup_settings[tenant_id] = new
        return new

    async def list(self, flt: CaseFilter, *, limit: int, cursor: str | None) -> Page[Case]:
        items = [c for (t, _), c in self.s.cases.items() if t == flt.tenant_id]
        return Page(items=items[:limit], next_cursor=None)


class FakeWebhooks:
    """Endpoints in memory; `queued` and `redelivered` record what would wake the relay."""

    def __init__(self, store: FakeStore) -> None:
        self.s = store

    async def add(self, endpoint: Endpoint, *, secret: str) -> None:
        self.s.endpoints[endpoint.id], self.s.webhook_secrets[endpoint.id] = endpoint, secret

    async def get(self, *, tenant_id: UUID, endpoint_id: UUID) -> Endpoint:
        found = self.s.endpoints.get(endpoint_id)
        if found is None or found.tenant_id != tenant_id:
            raise NotFound("webhook not found")
        return found

    async def list(self, *, tenant_id: UUID, limit: int, cursor: str | None) -> Page[Endpoint]:
        items = [e for e in self.s.endpoints.values() if e.tenant_id == tenant_id]
        return Page(items=items[:limit], next_cursor=None)

    async def save(self, endpoint: Endpoint) -> None:
        self.s.endpoints[endpoint.id] = endpoint

    async def delete(self, *, tenant_id: UUID, endpoint_id: UUID) -> None:
        await self.get(tenant_id=tenant_id, endpoint_id=endpoint_id)
        del self.s.endpoints[endpoint_id]

    async def rotate_secret(
        self, *, tenant_id: UUID, endpoint_id: UUID, secret: str, old_expires_at: datetime
    ) -> Endpoint:
        endpoint = await self.get(tenant_id=tenant_id, endpoint_id=endpoint_id)
        self.s.webhook_secrets[endpoint_id] = secret
        return msgspec.structs.replace(endpoint, previous_secret_expires_at=old_expires_at)

    async def enqueue_for(self, event: WebhookEvent, *, endpoint_id: UUID) -> QueuedDelivery:
        self.s.queued.append((event, endpoint_id))
        return QueuedDelivery(delivery_id=uuid4(), event_id=new_event_id())

    async def deliveries(
        self, *, tenant_id: UUID, endpoint_id: UUID, limit: int, cursor: str | None
    ) -> Page[Delivery]:
        await self.get(tenant_id=tenant_id, endpoint_id=endpoint_id)
        return Page(items=[], next_cursor=None)

    async def redeliver(self, *, tenant_id: UUID, endpoint_id: UUID, delivery_id: UUID) -> None:
        self.s.redelivered.append(delivery_id)


class FakeUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self.tenants = FakeTenants(store)
        self.keys = FakeKeys(store)
        self.surveys = FakeSurveys(store)
        self.responses = FakeResponses(store)
        self.changes = FakeChanges(store)
        self.targets = FakeTargets(store)
        self.histograms = FakeHistogramSource(store)
        self.followups = FakeFollowups(store)
        self.webhooks = FakeWebhooks(store)
        self.digest_schedules = FakeDigestSchedules(store)
        self.comments = FakeComments(store)
        self.committed = False
        self.entered = False
        self.ended = False

    async def __aenter__(self) -> Self:
        self.entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.committed = exc is None
        self.ended = True


class FakeUnitOfWorkFactory:
    """Opens fake units of work on one store, remembering the tenant each was opened for."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.opened: list[UUID | None] = []
        self.units: list[FakeUnitOfWork] = []

    def __call__(self, tenant_id: UUID | None = None) -> FakeUnitOfWork:
        self.opened.append(tenant_id)
        self.units.append(FakeUnitOfWork(self.store))
        return self.units[-1]


class FakeIngestor:
    """Stores answers in memory, honouring external_id and archived surveys."""

    def __init__(self, store: FakeStore) -> None:
        self.s = store
        self.completions: list[tuple[str, RequestOutcome | None]] = []

    async def set_excluded(
        self, tenant_id: UUID, response_id: UUID, *, excluded: bool, reason: str | None
    ) -> SurveyResponse:
        for n, r in enumerate(self.s.responses):
            if r.tenant_id == tenant_id and r.id == response_id:
                why = reason if excluded else None
                changed = msgspec.structs.replace(r, excluded=excluded, exclusion_reason=why)
                self.s.responses[n] = changed
                return changed
        raise NotFound("response not found")

    async def ingest(
        self,
        tenant_id: UUID,
        responses: Sequence[SurveyResponse],
        *,
        idempotency: IdempotencyClaim | None = None,
    ) -> Ingested:
        results = [self._one(r) for r in responses]
        if idempotency is None:
            return results
        outcome = idempotency.outcome(results)
        self.completions.append((idempotency.key, outcome))
        return results if outcome is None else Recorded(outcome=outcome)

    def _one(self, r: SurveyResponse) -> IngestResult:
        for old in self.s.responses:
            if r.external_id and old.tenant_id == r.tenant_id and old.external_id == r.external_id:
                return IngestResult(outcome=Outcome.EXISTING, response=old)
        survey = self.s.surveys.get((r.tenant_id, r.survey_id))
        if survey is None:
            return IngestResult(outcome=Outcome.SURVEY_NOT_FOUND)
        if survey.archived_at is not None:
            return IngestResult(outcome=Outcome.SURVEY_ARCHIVED)
        self.s.responses.append(r)
        return IngestResult(outcome=Outcome.CREATED, response=r)


class FakeHistogramSource:
    """Sums stored answers; `ready=False` mimics counters that cannot be trusted."""

    def __init__(self, store: FakeStore, *, ready: bool = True) -> None:
        self.s = store
        self.ready = ready
        self.calls = 0

    def _matching(self, q: ResultQuery, start: date, end: date) -> list[SurveyResponse]:
        return [
            r
            for r in self.s.responses
            if r.tenant_id == q.tenant_id
            and start <= r.local_date <= end
            and (q.survey_id is None or r.survey_id == q.survey_id)
            and all(r.segments.get(f.dimension) == f.value for f in q.segments)
        ]

    async def histograms(
        self, query: ResultQuery, periods: Sequence[tuple[date, date]]
    ) -> list[Histogram] | None:
        self.calls += 1
        if not self.ready:
            return None
        return [histogram_of(r.score for r in self._matching(query, s, e)) for s, e in periods]

    async def breakdown(self, query: ResultQuery, dimension: str) -> dict[str, Histogram] | None:
        self.calls += 1
        if not self.ready:
            return None
        out: dict[str, Histogram] = {}
        for r in self._matching(query, query.start, query.end):
            if dimension in r.segments:
                value = r.segments[dimension]
                out[value] = add_histograms(
                    out.get(value, EMPTY_HISTOGRAM), histogram_of([r.score])
                )
        return out


def principal_for(tenant: Tenant) -> Principal:
    return Principal(
        tenant_id=tenant.id, key_id=tenant.id, scopes=frozenset(Scope), timezone=tenant.timezone
    )
