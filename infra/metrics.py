"""Prometheus metrics: what each process counts, and the backlog sampled at scrape time.

Counters and histograms are updated where the event happens (one labelled `observe` or
`inc`, a dict lookup and an add: cheap enough for the request path). With several worker
processes `nps serve` sets PROMETHEUS_MULTIPROC_DIR before any worker starts; every process
then writes its values to memory-mapped files there and a scrape, served by any worker,
sums them (prometheus_client's multi-process mode).

Gauges that describe shared state (the oldest unapplied counter update, the oldest due
webhook delivery, whether PostgreSQL and Redis answer) are read from the servers when
/metrics is scraped, so they are the same whichever process answers.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator

import asyncpg
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SCRAPE_TIMEOUT_S = 0.5  # each backlog query; a slow database must not hang the scrape
disable_created_metrics()  # no `_created` series: multi-process mode has none either
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Histogram(
    "nps_http_request_duration_seconds",
    "Answers by method, route template and status, and their latency (_count: requests)",
    ["method", "route", "status"],
    buckets=_SECONDS,
)
INGEST_BATCH_ROWS = Histogram(
    "nps_ingest_batch_rows",
    "Answers written per group commit",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
)
INGEST_FLUSH_SECONDS = Histogram(
    "nps_ingest_flush_seconds",
    "Time of one group commit: its PostgreSQL transaction, COMMIT included",
    buckets=_SECONDS,
)
OUTBOX_DRAINED = Counter(
    "nps_counter_outbox_drained_rows",
    "Counter updates applied by the drainer (the write path could not apply them itself)",
)
REBUILDS = Counter(
    "nps_counter_rebuilds", "Rebuilds of a tenant's counters from PostgreSQL", ["outcome"]
)
REBUILD_SECONDS = Histogram(
    "nps_counter_rebuild_seconds",
    "Duration of a completed rebuild of one tenant's counters",
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0),
)
WEBHOOK_ATTEMPTS = Counter(
    "nps_webhook_attempts",
    "Webhook delivery attempts by outcome: succeeded, pending (retry planned), failed",
    ["outcome"],
)
RATE_LIMITED = Counter(
    "nps_rate_limited",
    "Requests refused with 429 by limit: key, tenant, address or auth-failures",
    ["limit"],
)

_OUTBOX_SQL = """
SELECT count(*), COALESCE(EXTRACT(epoch FROM now() - min(created_at)), 0)::float8
FROM counter_outbox
"""
_DUE_SQL = """
SELECT count(*), COALESCE(EXTRACT(epoch FROM now() - min(next_attempt_at)), 0)::float8
FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()
"""


# The histogram's child per (method, route, status), found by one dict lookup: `labels()`
# checks and converts its arguments and takes a lock every time (about 3 of the 5 µs an
# observation cost on the request path). Bounded like the series themselves: routes are
# templates, never paths.
_REQUEST_CHILDREN: dict[tuple[str, str | None, int], Histogram] = {}


def observe_request(method: str, route: str | None, status: int, seconds: float) -> None:
    child = _REQUEST_CHILDREN.get((method, route, status))
    if child is None:
        child = REQUESTS.labels(method, route or "unmatched", str(status))
        _REQUEST_CHILDREN[(method, route, status)] = child
    child.observe(seconds)


class _Sampled(Collector):
    def __init__(self, gauges: list[tuple[str, str, float]]) -> None:
        self._gauges = gauges

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, text, value in self._gauges:
            yield GaugeMetricFamily(name, text, value=value)


async def _backlog(pool: asyncpg.Pool, sql: str) -> tuple[float, float] | None:
    try:
        async with asyncio.timeout(SCRAPE_TIMEOUT_S):
            row = await pool.fetchrow(sql, timeout=SCRAPE_TIMEOUT_S)
    except Exception:  # PostgreSQL away: nps_database_up says so, the backlog is unknown
        return None
    return (float(row[0]), float(row[1])) if row is not None else None


def count_rate_limited(limit: str) -> None:
    RATE_LIMITED.labels(limit).inc()


async def _sampled(
    pool: asyncpg.Pool,
    database_up: Callable[[], Awaitable[bool]],
    redis_up: Callable[[], Awaitable[bool]],
) -> list[tuple[str, str, float]]:
    db, redis, outbox, due = await asyncio.gather(
        database_up(), redis_up(), _backlog(pool, _OUTBOX_SQL), _backlog(pool, _DUE_SQL)
    )
    gauges = [
        ("nps_database_up", "1 when PostgreSQL answers the readiness check", float(db)),
        ("nps_redis_up", "1 when Redis answers the readiness check", float(redis)),
    ]
    if outbox is not None:
        gauges += [
            ("nps_counter_outbox_rows", "Committed counter updates not yet applied", outbox[0]),
            (
                "nps_counter_outbox_oldest_seconds",
                "Age of the oldest committed counter update not yet applied to Redis",
                outbox[1],
            ),
        ]
    if due is not None:
        gauges += [
            ("nps_webhook_deliveries_due", "Webhook deliveries due and not sent", due[0]),
            (
                "nps_webhook_oldest_due_seconds",
                "How long the oldest due webhook delivery has been waiting",
                due[1],
            ),
        ]
    return gauges


def _process_metrics() -> bytes:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


async def scrape(
    pool: asyncpg.Pool,
    *,
    database_up: Callable[[], Awaitable[bool]],
    redis_up: Callable[[], Awaitable[bool]],
) -> bytes:
    """The exposition text: every process's counters, then the backlog sampled now."""
    sampled = CollectorRegistry(auto_describe=False)
    sampled.register(_Sampled(await _sampled(pool, database_up, redis_up)))
    return _process_metrics() + generate_latest(sampled)
