"""The webhook relay: claims due deliveries, sends them signed, records every attempt.

Guarantees (see also the README):
- At least once: a delivery is leased in a committed transaction before it is sent and
  recorded after; a crash in between re-sends it when the lease ends. Receivers dedupe on
  `webhook-id`. Relays in several processes never hold the same endpoint at once.
- Order: one relay at a time serves an endpoint, in event order (`seq`). A delivery waiting
  for a retry does not hold back later ones, so after a failure order is not guaranteed.

Every statement runs in a unit of work: the claim and the history purge in ones across
tenants (`uow()`), each attempt's record and the endpoint's release in ones of the
endpoint's tenant (`uow(tenant_id)`). Nothing is sent while a transaction is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec
import structlog

from domain.errors import InvalidInput
from domain.webhook_signing import HISTORY, check_url, next_delay, signature_header
from infra.metrics import WEBHOOK_ATTEMPTS
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.postgres.webhook_deliveries import ClaimedDelivery, ClaimedEndpoint
from infra.webhooks import http
from infra.webhooks.targets import TargetRefused, allowed_addresses

log = structlog.get_logger(__name__)
PURGE_EVERY_S = 3600.0


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    status_code: int | None = None
    error: str | None = None
    retry_after: str | None = None
    duration_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def claim_due(
    uow: PgUnitOfWorkFactory, *, endpoints: int, per_endpoint: int, lease_s: float
) -> list[ClaimedEndpoint]:
    """Lease due deliveries; committed (the unit of work ends) before anything is sent."""
    async with uow() as tx:
        return await tx.deliveries.claim_due(
            endpoints=endpoints, per_endpoint=per_endpoint, lease_s=lease_s
        )


async def purge_history(uow: PgUnitOfWorkFactory, *, keep: timedelta, batch: int = 5000) -> int:
    """Forget finished events older than `keep` (with their deliveries and attempts), one
    unit of work per batch."""
    removed = 0
    while True:
        async with uow() as tx:
            count = await tx.deliveries.purge_batch(keep=keep, batch=batch)
        removed += count
        if count < batch:
            return removed


def payload(endpoint: ClaimedEndpoint, d: ClaimedDelivery) -> bytes:
    """`{"id", "type", "created_at", "tenant_id", "data"}`."""
    return msgspec.json.encode(
        {
            "id": d.event_id,
            "type": d.event_type,
            "created_at": d.event_created_at,
            "tenant_id": endpoint.tenant_id,
            "data": msgspec.Raw(d.data_json.encode()),
        }
    )


class WebhookRelay:
    """`timeout`: per attempt, DNS included; `lease`: how long a claim keeps others away;
    `tls`: how https targets are verified (default: the system's trusted CAs)."""

    def __init__(
        self,
        uow: PgUnitOfWorkFactory,
        *,
        allow_private: bool,
        timeout: float = 10.0,
        endpoints_per_round: int = 16,
        per_endpoint: int = 10,
        lease: float | None = None,
        rand: Callable[[], float] = random.random,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._uow = uow
        self._allow_private = allow_private
        self._timeout = timeout
        self._endpoints = endpoints_per_round
        self._per_endpoint = per_endpoint
        self._lease = lease if lease is not None else timeout * per_endpoint + 30.0
        self._rand = rand
        self._tls = tls
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Wake the loop now (an event was just committed)."""
        self._wake.set()

    async def run_once(self) -> int:
        """One round: claim, send (endpoints concurrently, each in order), record.

        Returns the number of attempts made.
        """
        claims = await claim_due(
            self._uow,
            endpoints=self._endpoints,
            per_endpoint=self._per_endpoint,
            lease_s=self._lease,
        )
        if not claims:
            return 0
        done = await asyncio.gather(*(self._serve(c) for c in claims))
        return sum(done)

    async def run(self, interval: float = 1.0) -> None:
        """Loop until cancelled: straight on while there is work, else wait for a wake-up.

        Once an hour it also forgets history older than HISTORY (30 days).
        """
        next_purge = time.monotonic()
        while True:
            if time.monotonic() >= next_purge:
                next_purge = time.monotonic() + PURGE_EVERY_S
                await self._purge()
            try:
                attempts = await self.run_once()
            except Exception as exc:  # PostgreSQL away: deliveries wait in the outbox
                log.warning("webhook_relay_failed", error=type(exc).__name__)
                attempts = 0
            if attempts == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), interval)
                self._wake.clear()

    async def _purge(self) -> None:
        try:
            removed = await purge_history(self._uow, keep=HISTORY)
            if removed:
                log.info("webhook_history_purged", events=removed)
        except Exception as exc:  # the next hour tries again
            log.warning("webhook_purge_failed", error=type(exc).__name__)

    async def _serve(self, endpoint: ClaimedEndpoint) -> int:
        attempts = 0
        try:
            for delivery in endpoint.deliveries:
                outcome = await self._attempt(endpoint, delivery)
                attempts += 1
                if not await self._record(endpoint, delivery, outcome):
                    break  # disabled: the rest waits until it is enabled again
        except Exception as exc:  # unrecorded ones are sent again when the lease ends
            log.warning("webhook_record_failed", error=type(exc).__name__)
        with contextlib.suppress(Exception):
            async with self._uow(endpoint.tenant_id) as tx:
                await tx.deliveries.release(tenant_id=endpoint.tenant_id, endpoint_id=endpoint.id)
        return attempts

    async def _attempt(self, endpoint: ClaimedEndpoint, d: ClaimedDelivery) -> Outcome:
        body = payload(endpoint, d)
        timestamp = int(time.time())
        headers = {
            "webhook-id": d.event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                endpoint.secrets, msg_id=d.event_id, timestamp=timestamp, body=body
            ),
        }
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout):
                host, port = check_url(endpoint.url)
                addresses = await allowed_addresses(host, port, allow_private=self._allow_private)
                got = await http.post(
                    endpoint.url, body, headers, addresses=addresses, tls=self._tls
                )
            result = Outcome(status_code=got.status, retry_after=got.retry_after)
        except TimeoutError:
            result = Outcome(error=f"no answer within {self._timeout:g} s")
        except (TargetRefused, http.InvalidResponse) as exc:
            result = Outcome(error=str(exc))
        except InvalidInput as exc:
            result = Outcome(error=f"invalid URL: {exc.detail}")
        except ssl.SSLError as exc:
            result = Outcome(error=f"TLS error: {exc.reason or type(exc).__name__}")
        except ConnectionRefusedError:
            result = Outcome(error="connection refused")
        except OSError as exc:
            result = Outcome(error=f"connection failed: {exc.strerror or type(exc).__name__}")
        except Exception as exc:  # recorded and retried rather than looping unrecorded
            log.warning("webhook_attempt_error", error=type(exc).__name__)
            result = Outcome(error=f"unexpected error: {type(exc).__name__}")
        duration_ms = int((time.monotonic() - started) * 1000)
        return msgspec.structs.replace(result, duration_ms=duration_ms)

    async def _record(self, endpoint: ClaimedEndpoint, d: ClaimedDelivery, o: Outcome) -> bool:
        gone = o.status_code == 410
        retry_in: timedelta | None = None
        if not o.succeeded and not gone:
            retry_after = http.parse_retry_after(o.retry_after, now=datetime.now(UTC))
            retry_in = next_delay(d.round_attempts + 1, retry_after=retry_after, rand=self._rand)
        status = "succeeded" if o.succeeded else "pending" if retry_in is not None else "failed"
        error = o.error
        if error is None and not o.succeeded:
            error = f"HTTP {o.status_code}"
        WEBHOOK_ATTEMPTS.labels(status).inc()
        log.info(
            "webhook_attempt",
            tenant_id=str(endpoint.tenant_id),
            delivery_id=str(d.id),
            status_code=o.status_code,
            outcome=status,
        )
        async with self._uow(endpoint.tenant_id) as tx:
            return await tx.deliveries.record_attempt(
                tenant_id=endpoint.tenant_id,
                endpoint_id=endpoint.id,
                delivery_id=d.id,
                status=status,
                status_code=o.status_code,
                error=error,
                retry_in_s=retry_in.total_seconds() if retry_in is not None else None,
                duration_ms=o.duration_ms,
                gone=gone,
            )
