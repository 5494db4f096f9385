"""The relay against a real receiver on 127.0.0.1: signing, retries, disabling, redelivery."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from domain.webhook_signing import MAX_ATTEMPTS, verify
from domain.webhooks import WebhookEvent
from infra.postgres.uow import PgUnitOfWorkFactory
from infra.postgres.webhooks_outbox import enqueue_events
from infra.webhooks.relay import purge_history
from tests.integration.webhooks_support import deliveries, make_due, make_hook, relay, send_test


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_test_event_arrives_signed_with_the_secret_shown_at_creation(
    app_client, tenant, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    queued = await send_test(app_client, tenant, hook)
    assert await relay(relay_pool).run_once() >= 1
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got.path == "/hook" and got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == queued["event_id"] and queued["event_id"].startswith("msg_")
    timestamp = int(got.headers["webhook-timestamp"])
    assert abs(timestamp - time.time()) < 30
    signature = got.headers["webhook-signature"]
    assert signature.startswith("v1,") and " " not in signature
    assert verify(
        hook["secret"],
        msg_id=queued["event_id"],
        timestamp=timestamp,
        body=got.body,
        header=signature,
    )
    payload = got.json
    assert set(payload) == {"id", "type", "created_at", "tenant_id", "data"}
    assert payload["id"] == queued["event_id"] and payload["type"] == "webhook.test"
    assert payload["tenant_id"] == tenant.id and payload["data"]["webhook_id"] == hook["id"]
    [d] = await deliveries(app_client, tenant, hook)
    assert d["id"] == queued["delivery_id"] and d["event_type"] == "webhook.test"
    assert d["status"] == "succeeded" and d["attempts"] == 1 and d["last_status_code"] == 200
    assert d["next_attempt_at"] is None and d["last_error"] is None
    [attempt] = d["attempt_list"]
    assert attempt["status_code"] == 200 and attempt["error"] is None
    assert attempt["duration_ms"] >= 0


async def test_enqueued_events_go_to_enabled_subscribers_in_order_after_commit(
    app_client, tenant, receiver, relay_pool
) -> None:
    subscribed = await make_hook(app_client, tenant, receiver, ["response.created"], "/a")
    await make_hook(app_client, tenant, receiver, ["followup.created"], "/b")
    disabled = await make_hook(app_client, tenant, receiver, ["response.created"], "/c")
    await app_client.patch(
        f"/v1/webhooks/{disabled['id']}", json={"enabled": False}, headers=tenant.headers
    )
    now = datetime.now(UTC)
    events = [
        WebhookEvent(uuid.UUID(tenant.id), "response.created", {"n": n}, now) for n in range(5)
    ]
    async with relay_pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        assert await enqueue_events(conn, events) == 5
        await tx.rollback()  # the causing change failed: no event either
    assert await relay(relay_pool).run_once() == 0 or receiver.received == []
    assert receiver.received == []
    async with relay_pool.acquire() as conn, conn.transaction():
        assert await enqueue_events(conn, events) == 5
    await relay(relay_pool).run_once()
    assert [r.path for r in receiver.received] == ["/a"] * 5
    assert [r.json["data"]["n"] for r in receiver.received] == [0, 1, 2, 3, 4]
    assert len(set(receiver.ids())) == 5
    assert len(await deliveries(app_client, tenant, subscribed)) == 5


async def test_nobody_subscribed_inserts_nothing(app_client, tenant, relay_pool) -> None:
    tid = uuid.UUID(tenant.id)
    async with relay_pool.acquire() as conn, conn.transaction():
        before = await conn.fetchval(
            "SELECT count(*) FROM webhook_events WHERE tenant_id = $1", tid
        )
        n = await enqueue_events(
            conn, [WebhookEvent(tid, "response.created", {}, datetime.now(UTC))]
        )
        after = await conn.fetchval("SELECT count(*) FROM webhook_events WHERE tenant_id = $1", tid)
    assert n == 0 and before == after == 0
    with pytest.raises(ValueError):
        async with relay_pool.acquire() as conn:
            await enqueue_events(
                conn, [WebhookEvent(tid, "response.deleted", {}, datetime.now(UTC))]
            )


async def test_500_is_retried_with_backoff_and_attempts_are_recorded_in_order(
    app_client, tenant, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    await send_test(app_client, tenant, hook)
    receiver.status = 500
    await relay(relay_pool).run_once()
    [d] = await deliveries(app_client, tenant, hook)
    assert d["status"] == "pending" and d["attempts"] == 1 and d["last_status_code"] == 500
    assert d["last_error"] == "HTTP 500"
    wait = _at(d["next_attempt_at"]) - _at(d["attempt_list"][0]["at"])
    assert timedelta(seconds=4) <= wait <= timedelta(seconds=6)
    assert await relay(relay_pool).run_once() == 0 or len(receiver.received) == 1  # not due yet
    assert len(receiver.received) == 1
    await make_due(relay_pool, hook)
    receiver.status = 200
    await relay(relay_pool).run_once()
    [d] = await deliveries(app_client, tenant, hook)
    assert d["status"] == "succeeded" and d["attempts"] == 2
    assert [a["status_code"] for a in d["attempt_list"]] == [500, 200]
    assert d["attempt_list"][0]["at"] <= d["attempt_list"][1]["at"]
    assert len(set(receiver.ids())) == 1 and len(receiver.received) == 2


@pytest.mark.parametrize("as_date", [False, True])
async def test_429_retry_after_is_honoured(
    app_client, tenant, receiver, relay_pool, as_date
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    await send_test(app_client, tenant, hook)
    receiver.status = 429
    later = datetime.now(UTC) + timedelta(hours=1)
    receiver.headers = {"Retry-After": format_datetime(later, usegmt=True) if as_date else "120"}
    await relay(relay_pool).run_once()
    [d] = await deliveries(app_client, tenant, hook)
    assert d["status"] == "pending" and d["last_status_code"] == 429
    wait = _at(d["next_attempt_at"]) - _at(d["attempt_list"][0]["at"])
    expected = timedelta(hours=1) if as_date else timedelta(seconds=120)
    assert abs(wait - expected) < timedelta(seconds=3), wait


async def test_410_disables_the_endpoint_until_re_enabled(
    app_client, tenant, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    await send_test(app_client, tenant, hook)
    receiver.status = 410
    await relay(relay_pool).run_once()
    [d] = await deliveries(app_client, tenant, hook)
    assert d["status"] == "failed" and d["next_attempt_at"] is None
    got = (await app_client.get(f"/v1/webhooks/{hook['id']}", headers=tenant.headers)).json()
    assert got["enabled"] is False and "410" in got["disabled_reason"]
    refused = await app_client.post(f"/v1/webhooks/{hook['id']}/test", headers=tenant.headers)
    assert refused.status_code == 409
    enabled = await app_client.patch(
        f"/v1/webhooks/{hook['id']}", json={"enabled": True}, headers=tenant.headers
    )
    assert enabled.json()["enabled"] is True and enabled.json()["disabled_reason"] is None
    receiver.status = 200
    await send_test(app_client, tenant, hook)
    await relay(relay_pool).run_once()
    assert len(receiver.received) == 2


async def test_a_day_of_failures_disables_the_endpoint(
    app_client, tenant, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    await send_test(app_client, tenant, hook)
    receiver.status = 503
    await relay(relay_pool).run_once()
    got = (await app_client.get(f"/v1/webhooks/{hook['id']}", headers=tenant.headers)).json()
    assert got["enabled"] is True  # one failure is not a day of them
    await relay_pool.execute(
        "UPDATE webhook_endpoints SET failing_since = now() - interval '25 hours' WHERE id = $1",
        uuid.UUID(hook["id"]),
    )
    await make_due(relay_pool, hook)
    await relay(relay_pool).run_once()
    got = (await app_client.get(f"/v1/webhooks/{hook['id']}", headers=tenant.headers)).json()
    assert got["enabled"] is False and "24 hours" in got["disabled_reason"]


async def test_last_attempt_fails_the_delivery_and_redeliver_sends_it_again(
    app_client, tenant, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    queued = await send_test(app_client, tenant, hook)
    await relay_pool.execute(
        "UPDATE webhook_deliveries SET round_attempts = $2 WHERE id = $1",
        uuid.UUID(queued["delivery_id"]),
        MAX_ATTEMPTS - 1,
    )
    receiver.status = 500
    await relay(relay_pool).run_once()
    [d] = await deliveries(app_client, tenant, hook)
    assert d["status"] == "failed" and d["next_attempt_at"] is None
    path = f"/v1/webhooks/{hook['id']}/deliveries/{queued['delivery_id']}/redeliver"
    r = await app_client.post(path, headers=tenant.headers)
    assert r.status_code == 202, r.text
    [d] = await deliveries(app_client, tenant, hook)
    assert d["status"] == "pending" and _at(d["next_attempt_at"]) <= datetime.now(UTC)
    receiver.status = 200
    await relay(relay_pool).run_once()
    [d] = await deliveries(app_client, tenant, hook)
    assert d["status"] == "succeeded" and d["attempts"] == 2
    assert receiver.ids() == [queued["event_id"]] * 2


async def test_timeout_is_recorded_as_a_failed_attempt(
    app_client, tenant, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    await send_test(app_client, tenant, hook)
    receiver.hang = True
    started = time.monotonic()
    await relay(relay_pool, timeout=0.5).run_once()
    assert time.monotonic() - started < 3
    [d] = await deliveries(app_client, tenant, hook)
    [attempt] = d["attempt_list"]
    assert d["status"] == "pending" and attempt["status_code"] is None
    assert "0.5 s" in attempt["error"] and 450 <= attempt["duration_ms"] < 3000


async def test_rotation_signs_with_both_secrets_for_a_day(
    app_client, tenant, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    old = hook["secret"]
    r = await app_client.post(f"/v1/webhooks/{hook['id']}/rotate-secret", headers=tenant.headers)
    new = r.json()["secret"]
    await send_test(app_client, tenant, hook)
    await relay(relay_pool).run_once()
    got = receiver.received[-1]
    header = got.headers["webhook-signature"]
    args = {
        "msg_id": got.headers["webhook-id"],
        "timestamp": int(got.headers["webhook-timestamp"]),
        "body": got.body,
        "header": header,
    }
    assert len(header.split(" ")) == 2
    assert verify(new, **args) and verify(old, **args)  # type: ignore[arg-type]
    await relay_pool.execute(
        "UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second'"
        " WHERE id = $1",
        uuid.UUID(hook["id"]),
    )
    await send_test(app_client, tenant, hook)
    await relay(relay_pool).run_once()
    got = receiver.received[-1]
    args |= {
        "msg_id": got.headers["webhook-id"],
        "timestamp": int(got.headers["webhook-timestamp"]),
        "body": got.body,
        "header": got.headers["webhook-signature"],
    }
    assert " " not in got.headers["webhook-signature"]
    assert verify(new, **args) and not verify(old, **args)  # type: ignore[arg-type]
    after = (await app_client.get(f"/v1/webhooks/{hook['id']}", headers=tenant.headers)).json()
    assert after["previous_secret_expires_at"] is None


async def test_send_time_check_refuses_private_addresses(
    app_client, tenant, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    await send_test(app_client, tenant, hook)
    await relay(relay_pool, allow_private=False).run_once()
    assert receiver.received == []
    [d] = await deliveries(app_client, tenant, hook)
    assert d["status"] == "pending" and "private" in d["last_error"]


async def test_deliveries_are_listed_newest_first_with_a_cursor(
    app_client, tenant, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    ids = [(await send_test(app_client, tenant, hook))["delivery_id"] for _ in range(3)]
    base = f"/v1/webhooks/{hook['id']}/deliveries"
    first = (await app_client.get(f"{base}?limit=2", headers=tenant.headers)).json()
    assert [d["id"] for d in first["data"]] == ids[::-1][:2] and first["next_cursor"]
    second = (
        await app_client.get(
            f"{base}?limit=2&cursor={first['next_cursor']}", headers=tenant.headers
        )
    ).json()
    assert [d["id"] for d in second["data"]] == [ids[0]] and second["next_cursor"] is None
    bad = await app_client.get(f"{base}?cursor=garbage", headers=tenant.headers)
    assert bad.status_code == 422


async def test_a_receiver_closing_without_an_answer_is_a_failed_attempt(
    app_client, tenant, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    await send_test(app_client, tenant, hook)
    receiver.close_without_answer = True
    await relay(relay_pool).run_once()
    [d] = await deliveries(app_client, tenant, hook)
    assert d["status"] == "pending" and d["last_status_code"] is None
    assert d["last_error"] == "no HTTP status line"


async def test_history_past_the_keeping_time_is_purged_unless_still_pending(
    app_client, tenant, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver)
    done = await send_test(app_client, tenant, hook)
    await relay(relay_pool).run_once()
    waiting = await send_test(app_client, tenant, hook)
    recent = await send_test(app_client, tenant, hook)
    await relay_pool.execute(
        "UPDATE webhook_events SET created_at = now() - interval '31 days'"
        " WHERE tenant_id = $1 AND id = ANY($2::text[])",
        uuid.UUID(tenant.id),
        [done["event_id"], waiting["event_id"]],
    )
    await relay_pool.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = now() + interval '1 hour'"
        " WHERE tenant_id = $1 AND event_id = ANY($2::text[])",
        uuid.UUID(tenant.id),
        [waiting["event_id"], recent["event_id"]],
    )
    assert (
        await purge_history(PgUnitOfWorkFactory(relay_pool), keep=timedelta(days=30), batch=1) >= 1
    )
    left = {d["event_id"] for d in await deliveries(app_client, tenant, hook)}
    assert left == {waiting["event_id"], recent["event_id"]}
    attempts = await relay_pool.fetchval(
        "SELECT count(*) FROM webhook_attempts WHERE tenant_id = $1 AND delivery_id = $2",
        uuid.UUID(tenant.id),
        uuid.UUID(done["delivery_id"]),
    )
    assert attempts == 0
