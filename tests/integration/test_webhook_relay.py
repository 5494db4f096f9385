"""Relays in several processes, crashes between claim and send, waking the relay, https."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import subprocess
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.webhook_signing import verify
from domain.webhooks import WebhookEvent
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.postgres.webhooks_outbox import enqueue_events
from infra.webhooks.relay import claim_due
from tests.integration.webhooks_support import (
    Receiver,
    deliveries,
    make_due,
    make_hook,
    relay,
    send_test,
)


async def _enqueue(pool, tenant, count: int) -> int:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    events = [
        WebhookEvent(uuid.UUID(tenant.id), "response.created", {"n": n}, now) for n in range(count)
    ]
    async with pool.acquire() as conn, conn.transaction():
        return await enqueue_events(conn, events)


async def test_two_relays_at_once_send_each_delivery_once_and_in_order_per_endpoint(
    app_client, tenant, receiver, relay_pool
) -> None:
    for i in range(3):
        await make_hook(app_client, tenant, receiver, ["response.created"], f"/h{i}")
    assert await _enqueue(relay_pool, tenant, 20) == 60
    relays = [relay(relay_pool, endpoints_per_round=2, per_endpoint=3) for _ in range(2)]

    async def drive(r) -> None:  # type: ignore[no-untyped-def]
        for _ in range(300):
            if len(receiver.received) >= 60:
                return
            if await r.run_once() == 0:
                await asyncio.sleep(0.01)

    async with asyncio.timeout(30):
        await asyncio.gather(*(drive(r) for r in relays))
    assert len(receiver.received) == 60
    per_endpoint: dict[str, list[int]] = defaultdict(list)
    for got in receiver.received:
        per_endpoint[got.path].append(got.json["data"]["n"])
    assert len({(r.path, r.headers["webhook-id"]) for r in receiver.received}) == 60
    assert len(set(receiver.ids())) == 20  # one event, one id, whichever endpoint gets it
    assert dict(per_endpoint) == {f"/h{i}": list(range(20)) for i in range(3)}


async def test_a_claim_committed_but_never_sent_is_sent_after_the_lease(
    app_client, tenant, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    queued = await send_test(app_client, tenant, hook)
    claimed = await claim_due(
        PgUnitOfWorkFactory(relay_pool), endpoints=100, per_endpoint=10, lease_s=0.5
    )
    assert queued["event_id"] in {d.event_id for c in claimed for d in c.deliveries}
    del claimed  # the process dies here, between the claim's commit and the send
    survivor = relay(relay_pool)
    await survivor.run_once()
    assert receiver.received == []  # still leased
    await asyncio.sleep(0.6)
    await survivor.run_once()
    assert receiver.ids() == [queued["event_id"]]
    [d] = await deliveries(app_client, tenant, hook)
    assert d["status"] == "succeeded" and d["attempts"] == 1


async def test_a_relay_cancelled_mid_send_is_replaced_and_the_webhook_id_repeats(
    app_client, tenant, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    queued = await send_test(app_client, tenant, hook)
    receiver.hang = True
    doomed = asyncio.create_task(relay(relay_pool, timeout=30, lease=1.0).run_once())
    async with asyncio.timeout(5):
        await receiver.wait_for(1)
    doomed.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await doomed
    [d] = await deliveries(app_client, tenant, hook)
    assert d["status"] == "pending" and d["attempts"] == 0  # sent, never recorded
    receiver.hang = False
    await asyncio.sleep(1.1)
    await relay(relay_pool).run_once()
    assert receiver.ids() == [queued["event_id"]] * 2  # at least once: receivers dedupe
    [d] = await deliveries(app_client, tenant, hook)
    assert d["status"] == "succeeded" and d["attempts"] == 1


async def test_notify_wakes_a_sleeping_relay(app_client, tenant, receiver, relay_pool) -> None:
    await make_hook(app_client, tenant, receiver, ["response.created"])
    running = relay(relay_pool)
    task = asyncio.create_task(running.run(interval=60))
    try:
        await asyncio.sleep(0.3)  # first round done: asleep for a minute
        assert await _enqueue(relay_pool, tenant, 1) == 1
        await asyncio.sleep(0.3)
        assert receiver.received == []
        running.notify()
        async with asyncio.timeout(5):
            await receiver.wait_for(1)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subject = ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
    subprocess.run(
        [*command, *subject, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


async def test_https_targets_are_verified_and_sent_to_over_tls(
    app_client, tenant, relay_pool, tmp_path
) -> None:
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    receiver = await Receiver().start(tls=server_tls)
    try:
        r = await app_client.post(
            "/v1/webhooks",
            json={"url": f"https://localhost:{receiver.port}/tls", "events": ["webhook.test"]},
            headers=tenant.headers,
        )
        hook = r.json()
        await send_test(app_client, tenant, hook)
        await relay(relay_pool).run_once()  # the system CAs do not trust this certificate
        [d] = await deliveries(app_client, tenant, hook)
        assert "CERTIFICATE_VERIFY_FAILED" in d["last_error"] and receiver.received == []
        await make_due(relay_pool, hook)
        trusting = ssl.create_default_context(cafile=str(cert))
        await relay(relay_pool, tls=trusting).run_once()
        [got] = receiver.received
        assert got.path == "/tls" and got.headers["host"] == f"localhost:{receiver.port}"
        assert verify(
            hook["secret"],
            msg_id=got.headers["webhook-id"],
            timestamp=int(got.headers["webhook-timestamp"]),
            body=got.body,
            header=got.headers["webhook-signature"],
        )
    finally:
        await receiver.stop()
