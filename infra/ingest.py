"""IngestBatcher: group commit of concurrent answers, then one counter apply per tenant.

Concurrent submissions are written in one PostgreSQL transaction (their Idempotency-Key
claims, responses and one counter_outbox row per stored answer; see infra.ingest_outcomes
for what each is answered). Only after the commit are the counter deltas sent to Redis and
the applied outbox rows deleted; every caller is answered after its batch committed.
Whatever cannot be applied stays in the outbox for the drainer.

Every submission is answered within its deadline (`deadline_s` after it arrived) plus at
most MIN_FLUSH_S: one not yet written by then is dropped, and a group commit may take no
longer than what is left of its oldest submission's time. When PostgreSQL fails or does not
answer, the answer is Unavailable saying whether the answers are certainly not stored (the
transaction never reached its COMMIT) or the outcome is unknown (the COMMIT was sent); a
retry with the same Idempotency-Key then tells which: the stored answer is replayed, or the
request runs now.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import structlog

from domain.errors import Conflict, Unavailable
from domain.idempotency import IdempotencyClaim, Ingested
from domain.model import SurveyResponse
from domain.webhook_payloads import ingest_events
from infra.ingest_outcomes import STILL_RUNNING, Submission, answers_of, expected_claims
from infra.metrics import INGEST_BATCH_ROWS, INGEST_FLUSH_SECONDS
from infra.outage import REDIS_DOWN, is_outage
from infra.postgres import exclusions
from infra.postgres.customers import customers_answered
from infra.postgres.ingest_sql import insert_responses
from infra.postgres.outbox import OutboxRow, delete_outbox_rows
from infra.postgres.webhooks_outbox import enqueue_events
from infra.redis.breaker import RedisBreaker
from infra.redis.counters import RedisCounterStore
from infra.redis.resilient import CounterBacklog
from infra.tasks import stop

log = structlog.get_logger(__name__)
DEADLINE_S = 3.0
MIN_FLUSH_S = 1.0  # the least time a group commit is given, however late its oldest answer
APPLY_LANES = 8  # counter applies of one batch in flight at once (one per tenant)
NOT_STORED = (
    "PostgreSQL did not answer in time; nothing was stored. Retry (with the same"
    " Idempotency-Key to be safe)"
)
OUTCOME_UNKNOWN = (
    "PostgreSQL did not confirm in time whether the answers were stored. Retry with the same"
    " Idempotency-Key: the stored answer is replayed if they were, else they are stored now"
)


class IngestBatcher:
    """Implements domain.responses.Ingestor with group commit."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        counters: RedisCounterStore,
        *,
        max_rows: int = 1000,
        max_concurrent: int = 3,
        on_events: Callable[[], None] | None = None,
        deadline_s: float = DEADLINE_S,
        breaker: RedisBreaker | None = None,
        backlog: CounterBacklog | None = None,
    ) -> None:
        self._deadline_s = deadline_s
        self._pool = pool
        self._counters = counters
        self._breaker = breaker or RedisBreaker(counters.redis)
        self._backlog = backlog or CounterBacklog(counters, self._breaker)
        self._on_events = on_events  # wakes the webhook relay after a commit with events
        self._max_rows = max_rows
        self._slots = asyncio.Semaphore(max_concurrent)
        self._pending: list[Submission] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    async def ingest(
        self,
        tenant_id: UUID,
        responses: Sequence[SurveyResponse],
        *,
        idempotency: IdempotencyClaim | None = None,
    ) -> Ingested:
        if self._task is None:
            self._task = asyncio.create_task(self._collect())
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Ingested] = loop.create_future()
        self._pending.append(
            Submission(
                tenant_id=tenant_id,
                responses=responses,
                idempotency=idempotency,
                future=future,
                deadline=loop.time() + self._deadline_s,
            )
        )
        self._wake.set()
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Finish what was submitted, then stop collecting."""
        while self._pending or self._flushes:  # noqa: ASYNC110 - polls two collections
            await asyncio.sleep(0.005)
        if self._task is not None:
            await stop([self._task])
            self._task = None

    async def _collect(self) -> None:
        while True:
            await self._wake.wait()
            await self._slots.acquire()
            batch = self._take()
            if not self._pending:
                self._wake.clear()
            if not batch:
                self._slots.release()
                continue
            task = asyncio.create_task(self._flush(batch))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    def _take(self) -> list[Submission]:
        batch: list[Submission] = []
        keys: set[tuple[UUID, str]] = set()
        rows = 0
        now = asyncio.get_running_loop().time()
        while self._pending and (
            not batch or rows + len(self._pending[0].responses) <= self._max_rows
        ):
            sub = self._pending.pop(0)
            if sub.deadline <= now:  # waited too long for a free transaction slot
                _fail(sub, Unavailable(NOT_STORED))
                continue
            if sub.idempotency is not None:
                key = (sub.tenant_id, sub.idempotency.key)
                if key in keys:  # the same key twice in one batch: the first is running
                    _fail(sub, Conflict(STILL_RUNNING))
                    continue
                keys.add(key)
            batch.append(sub)
            rows += len(sub.responses)
        return batch

    async def _flush(self, batch: list[Submission]) -> None:
        try:
            try:
                await self._write(batch)
            except Exception as exc:
                if len(batch) == 1 or isinstance(exc, Unavailable):
                    raise
                # One bad submission must not fail its neighbours: write each on its own.
                for sub in batch:
                    try:
                        await self._write([sub])
                    except Exception as exc:
                        _fail(sub, exc)
        except Exception as exc:
            for sub in batch:
                _fail(sub, exc)
        finally:
            self._slots.release()

    async def _write(self, batch: list[Submission]) -> None:
        gens = {t: await self._gen(t) for t in {s.tenant_id for s in batch}}
        loop = asyncio.get_running_loop()
        budget = max(min(s.deadline for s in batch) - loop.time(), MIN_FLUSH_S)
        committing = False
        started = time.perf_counter()
        try:
            async with asyncio.timeout(budget):
                async with self._pool.acquire() as conn, conn.transaction():
                    answers, outbox, events = await self._store(conn, batch)
                    committing = True  # only the COMMIT is left
        except Exception as exc:
            if is_outage(exc):
                raise Unavailable(OUTCOME_UNKNOWN if committing else NOT_STORED) from exc
            raise
        INGEST_FLUSH_SECONDS.observe(time.perf_counter() - started)
        INGEST_BATCH_ROWS.observe(sum(len(s.responses) for s in batch))
        if events and self._on_events is not None:
            self._on_events()
        applied = await self._apply(gens, outbox)
        # Answer only now: a client reading its NPS right after sees its answer counted.
        for sub, answer in zip(batch, answers, strict=True):
            if sub.future.done():
                continue
            if isinstance(answer, Exception):
                sub.future.set_exception(answer)
            else:
                sub.future.set_result(answer)
        await self._delete_applied(applied)

    async def _store(
        self, conn: asyncpg.Connection, batch: list[Submission]
    ) -> tuple[list[Ingested | Exception], list[OutboxRow], list[object]]:
        """The group commit's statements: answers, key claims, outbox, events, customers."""
        responses = [r for s in batch for r in s.responses]
        claims = expected_claims(batch)
        inserted = await insert_responses(conn, responses, claims=claims)
        outbox = inserted.outbox
        # None when every answer was stored: no id needs looking up then.
        created = {row.response_id for row in outbox} if len(outbox) < len(responses) else None
        answers = await answers_of(conn, batch, inserted.claims, created)
        events = []
        if inserted.hooks:  # someone listens: only then are payloads built
            stored = [r for r in responses if created is None or r.id in created]
            now = datetime.now(UTC)
            events = ingest_events(stored, inserted.followups, inserted.hooks, now)
            await enqueue_events(conn, events)
        await _touch_customers(conn, responses, created)
        return answers, outbox, events

    async def set_excluded(
        self, tenant_id: UUID, response_id: UUID, *, excluded: bool, reason: str | None
    ) -> SurveyResponse:
        """Flag an answer; its counter change takes the same outbox path as new answers."""
        gen = await self._gen(tenant_id)
        async with self._pool.acquire() as conn, conn.transaction():
            response, outbox = await exclusions.set_excluded(
                conn,
                tenant_id=tenant_id,
                response_id=response_id,
                excluded=excluded,
                reason=reason,
            )
        await self._delete_applied(await self._apply({tenant_id: gen}, outbox))
        return response

    async def _gen(self, tenant_id: UUID) -> int | None:
        """The generation to apply to, read before the transaction commits (see counters)."""
        if not self._breaker.available:
            return None
        try:
            return await self._counters.expected_gen(tenant_id)
        except Exception as exc:  # Redis down: the drainer applies later
            self._redis_failed(exc)
            return None

    async def _apply(
        self, gens: dict[UUID, int | None], outbox: list[OutboxRow]
    ) -> list[tuple[UUID, int, list[OutboxRow]]]:
        """Send each tenant's deltas in one Lua call; returns what was applied. A tenant whose
        rows stay in the outbox is marked behind before anyone is answered, so that no read
        misses an acknowledged answer (a refused apply marks it in the same script)."""
        by_tenant: dict[UUID, list[OutboxRow]] = {}
        for row in outbox:
            by_tenant.setdefault(row.tenant_id, []).append(row)
        applied: list[tuple[UUID, int, list[OutboxRow]]] = []
        behind: list[UUID] = []
        lanes = asyncio.Semaphore(APPLY_LANES)

        async def one(tenant_id: UUID, rows: list[OutboxRow]) -> None:
            gen = gens.get(tenant_id)
            if gen is None or not self._breaker.available:
                behind.append(tenant_id)
                return
            try:
                async with lanes:
                    done = await self._counters.apply(tenant_id, gen, rows)
                if done:
                    applied.append((tenant_id, gen, rows))
            except Exception as exc:  # left in the outbox: the drainer retries
                log.warning("counter_apply_deferred", error=type(exc).__name__, rows=len(rows))
                self._redis_failed(exc)
                behind.append(tenant_id)

        # Tenants' keys are apart (a slot each in a cluster): their calls need no order, and
        # a batch of many tenants waits for the slowest call instead of the sum of all.
        if len(by_tenant) == 1:
            await one(*next(iter(by_tenant.items())))
        else:
            await asyncio.gather(*(one(t, rows) for t, rows in by_tenant.items()))
        await self._backlog.mark(behind)
        return applied

    def _redis_failed(self, exc: BaseException) -> None:
        if isinstance(exc, REDIS_DOWN):
            self._breaker.failed(exc)

    async def _delete_applied(self, applied: list[tuple[UUID, int, list[OutboxRow]]]) -> None:
        """Every applied tenant's rows in one statement (one round trip for the batch)."""
        if not applied:
            return
        try:
            async with self._pool.acquire() as conn:
                await delete_outbox_rows(
                    conn, [(tenant_id, r.id) for tenant_id, _, rows in applied for r in rows]
                )
        except Exception as exc:  # the drainer finds them applied and deletes them
            rows = sum(len(rows) for _, _, rows in applied)
            log.warning("outbox_delete_deferred", error=type(exc).__name__, rows=rows)
            return
        for tenant_id, gen, rows in applied:
            self._counters.deleted(tenant_id, gen, {r.xid for r in rows})


def _fail(sub: Submission, exc: BaseException) -> None:
    if not sub.future.done():
        sub.future.set_exception(exc)


async def _touch_customers(
    conn: asyncpg.Connection, responses: list[SurveyResponse], created: set[UUID] | None
) -> None:
    """Stamp the customers who answered, tenant by tenant in one order (last: it locks)."""
    by_tenant: dict[UUID, list[SurveyResponse]] = {}
    for r in responses:
        if created is None or r.id in created:
            by_tenant.setdefault(r.tenant_id, []).append(r)
    for tenant_id in sorted(by_tenant):
        await customers_answered(conn, tenant_id, by_tenant[tenant_id])
