"""Unit of work: one connection and one transaction shared by every repository.

Repositories are built on first use (`cached_property`): a use-case pays only for the
ones it touches, on the connection of this unit of work's transaction. The only place in
infra/postgres that acquires a connection or opens a transaction for a use-case or a
background job (tests/unit/test_layering.py keeps it so).

Work for one tenant (`uow(tenant_id)`) runs on the tenant pool, connected as the restricted
role (infra/postgres/roles.py), in a transaction whose `nps.tenant_id` is that tenant: row-level
security (migration 018) shows it that tenant's rows and nothing else, whatever a statement's
WHERE says. Cross-tenant operator work (`uow()`: creating and listing tenants) runs on the
owner's pool.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from types import TracebackType
from typing import Self
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from asyncpg.transaction import Transaction

from infra.postgres.comments import PgCommentRepository
from infra.postgres.customers import PgCustomerRepository
from infra.postgres.decisions import PgChangeRepository, PgTargetRepository
from infra.postgres.digest_schedules import PgDigestScheduleRepository
from infra.postgres.followup_reports import PgOverdueCases
from infra.postgres.followups import PgFollowupRepository
from infra.postgres.responses import PgResponseRepository
from infra.postgres.results import PgHistogramRepository
from infra.postgres.retention import PgRetention
from infra.postgres.surveys import PgSurveyRepository
from infra.postgres.tenants import PgApiKeyRepository, PgTenantRepository
from infra.postgres.webhook_deliveries import PgDeliveryQueue
from infra.postgres.webhooks import PgWebhookRepository


class PgUnitOfWork:
    """Commits when the block ends without an exception, rolls back otherwise.

    `on_events` is called after a commit whose transaction queued webhook events (it wakes
    the relay); never after a rollback: those events vanished with it.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        tenant_id: UUID | None = None,
        *,
        on_events: Callable[[], None] | None = None,
    ) -> None:
        self._pool = pool
        self.tenant_id = tenant_id
        self._on_events = on_events
        self._events = False
        self._conn: PoolConnectionProxy | None = None
        self._tx: Transaction | None = None

    def _events_queued(self) -> None:
        self._events = True

    @property
    def connection(self) -> PoolConnectionProxy:
        """The connection of the open transaction (repositories run their SQL on it)."""
        assert self._conn is not None, "unit of work used outside its `async with` block"
        return self._conn

    @cached_property
    def tenants(self) -> PgTenantRepository:
        return PgTenantRepository(self.connection)

    @cached_property
    def keys(self) -> PgApiKeyRepository:
        return PgApiKeyRepository(self.connection)

    @cached_property
    def surveys(self) -> PgSurveyRepository:
        return PgSurveyRepository(self.connection)

    @cached_property
    def responses(self) -> PgResponseRepository:
        return PgResponseRepository(self.connection)

    @cached_property
    def changes(self) -> PgChangeRepository:
        return PgChangeRepository(self.connection)

    @cached_property
    def targets(self) -> PgTargetRepository:
        return PgTargetRepository(self.connection)

    @cached_property
    def histograms(self) -> PgHistogramRepository:
        return PgHistogramRepository(self.connection)

    @cached_property
    def customers(self) -> PgCustomerRepository:
        return PgCustomerRepository(self.connection)

    @cached_property
    def followups(self) -> PgFollowupRepository:
        return PgFollowupRepository(self.connection, events_queued=self._events_queued)

    @cached_property
    def overdue(self) -> PgOverdueCases:
        """The follow-up deadline sweep's claims (a background job's, across tenants)."""
        return PgOverdueCases(self.connection)

    @cached_property
    def retention(self) -> PgRetention:
        """Personal-data retention's statements (a background job's)."""
        return PgRetention(self.connection)

    @cached_property
    def webhooks(self) -> PgWebhookRepository:
        return PgWebhookRepository(self.connection, events_queued=self._events_queued)

    @cached_property
    def comments(self) -> PgCommentRepository:
        return PgCommentRepository(self.connection)

    @cached_property
    def digest_schedules(self) -> PgDigestScheduleRepository:
        return PgDigestScheduleRepository(self.connection, events_queued=self._events_queued)

    @cached_property
    def deliveries(self) -> PgDeliveryQueue:
        """The webhook relay's claims and records (a background job's, not a use-case's)."""
        return PgDeliveryQueue(self.connection)

    async def __aenter__(self) -> Self:
        conn = await self._pool.acquire()
        self._conn = conn
        try:
            if self.tenant_id is None:
                self._tx = conn.transaction()
                await self._tx.start()
            else:
                self._tx = await conn.begin_for_tenant(self.tenant_id)
        except BaseException:
            await self._pool.release(conn)
            self._conn = self._tx = None
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None and self._tx is not None
        try:
            if exc is None:
                await self._tx.commit()
            else:
                await self._tx.rollback()
        finally:
            await self._pool.release(self._conn)
            self._conn = self._tx = None
        if exc is None and self._events and self._on_events is not None:
            self._on_events()


class PgUnitOfWorkFactory:
    """`pool`: the owner's; `tenant_pool`: the restricted role's (the owner's when not given,
    as in operator commands, which set the tenant all the same)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        tenant_pool: asyncpg.Pool | None = None,
        on_events: Callable[[], None] | None = None,
    ) -> None:
        self._pool = pool
        self._tenant_pool = tenant_pool or pool
        self._on_events = on_events

    def __call__(self, tenant_id: UUID | None = None) -> PgUnitOfWork:
        if tenant_id is None:
            return PgUnitOfWork(self._pool, on_events=self._on_events)
        return PgUnitOfWork(self._tenant_pool, tenant_id, on_events=self._on_events)
