"""Unit of work: one connection and one transaction shared by every repository."""

from __future__ import annotations

from types import TracebackType
from typing import Self
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from asyncpg.transaction import Transaction

from infra.postgres.responses import PgResponseRepository
from infra.postgres.surveys import PgSurveyRepository
from infra.postgres.tenants import PgApiKeyRepository, PgTenantRepository


class PgUnitOfWork:
    """Commits when the block ends without an exception, rolls back otherwise."""

    tenants: PgTenantRepository
    keys: PgApiKeyRepository
    surveys: PgSurveyRepository
    responses: PgResponseRepository

    def __init__(self, pool: asyncpg.Pool, tenant_id: UUID | None = None) -> None:
        self._pool = pool
        self.tenant_id = tenant_id
        self._conn: PoolConnectionProxy | None = None
        self._tx: Transaction | None = None

    async def __aenter__(self) -> Self:
        conn = await self._pool.acquire()
        self._conn = conn
        self._tx = conn.transaction()
        await self._tx.start()
        self.tenants = PgTenantRepository(conn)
        self.keys = PgApiKeyRepository(conn)
        self.surveys = PgSurveyRepository(conn)
        self.responses = PgResponseRepository(conn)
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


class PgUnitOfWorkFactory:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    def __call__(self, tenant_id: UUID | None = None) -> PgUnitOfWork:
        return PgUnitOfWork(self._pool, tenant_id)
