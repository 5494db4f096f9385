"""Events from the write paths: answers and follow-up cases reach subscribed endpoints,
signed, with the same data the API returns for the answer or the case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from domain.webhook_signing import verify
from infra.followup_deadlines import announce_overdue
from infra.postgres.uow import PgUnitOfWorkFactory
from tests.conftest import post_batch
from tests.integration.webhooks_support import make_hook, relay

EVENTS = ["response.created", "followup.created", "followup.updated", "followup.overdue"]


async def _deliver(relay_pool, receiver, count: int) -> list[dict]:  # type: ignore[no-untyped-def]
    r = relay(relay_pool)
    for _ in range(10):
        if len(receiver.received) >= count:
            break
        await r.run_once()
    assert len(receiver.received) == count, [x.json["type"] for x in receiver.received]
    return [x.json for x in receiver.received]


async def test_answers_and_case_changes_are_announced_with_their_api_shapes(
    app_client, tenant, survey_id, receiver, relay_pool
) -> None:
    hook = await make_hook(app_client, tenant, receiver, EVENTS)
    [detractor, promoter] = await post_batch(
        app_client,
        tenant,
        [
            {
                "survey_id": survey_id,
                "score": 4,
                "comment": "slow",
                "customer_id": "c-9",
                "segments": {"team": "support"},
                "answered_at": "2026-11-20T10:00:00+01:00",
            },
            {"survey_id": survey_id, "score": 10},
        ],
    )
    events = await _deliver(relay_pool, receiver, 3)
    by_type: dict[str, list[dict]] = {}
    for e in events:
        by_type.setdefault(e["type"], []).append(e)
    created = {e["data"]["id"]: e["data"] for e in by_type["response.created"]}
    h = tenant.headers
    for response_id in (detractor, promoter):
        api = (await app_client.get(f"/v1/responses/{response_id}", headers=h)).json()
        assert created[response_id] == api
    [opened] = by_type["followup.created"]
    case = (await app_client.get(f"/v1/followups/{opened['data']['id']}", headers=h)).json()
    assert opened["data"] == case and case["response_id"] == detractor
    for got in receiver.received:
        assert verify(
            hook["secret"],
            msg_id=got.headers["webhook-id"],
            timestamp=int(got.headers["webhook-timestamp"]),
            body=got.body,
            header=got.headers["webhook-signature"],
        )

    r = await app_client.patch(
        f"/v1/followups/{case['id']}", json={"owner": "li", "status": "in_progress"}, headers=h
    )
    await app_client.post(
        f"/v1/followups/{case['id']}/notes", json={"author": "li", "text": "called"}, headers=h
    )
    updates = (await _deliver(relay_pool, receiver, 5))[3:]
    assert [u["type"] for u in updates] == ["followup.updated", "followup.updated"]
    assert updates[0]["data"] == r.json()
    assert updates[1]["data"]["notes"][0]["text"] == "called"
    assert {u["tenant_id"] for u in updates} == {tenant.id}


async def test_an_overdue_case_is_announced_once_and_again_after_reopening(
    app_client, tenant, survey_id, receiver, relay_pool, database_url
) -> None:
    await make_hook(app_client, tenant, receiver, ["followup.overdue"])
    await post_batch(app_client, tenant, [{"survey_id": survey_id, "score": 0}])
    case = (await app_client.get("/v1/followups", headers=tenant.headers)).json()["data"][0]
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE followups SET due_at = now() - interval '1 hour' WHERE tenant_id = $1",
            uuid.UUID(tenant.id),
        )
    finally:
        await conn.close()
    pool = PgUnitOfWorkFactory(relay_pool)
    assert await announce_overdue(pool, now=datetime.now(UTC)) >= 1
    await announce_overdue(pool, now=datetime.now(UTC))  # nothing new to announce
    [overdue] = await _deliver(relay_pool, receiver, 1)
    assert overdue["type"] == "followup.overdue" and overdue["data"]["id"] == case["id"]
    assert overdue["data"]["overdue"] is True

    url = f"/v1/followups/{case['id']}"
    await app_client.patch(
        url, json={"status": "closed", "resolution": "x"}, headers=tenant.headers
    )
    reopened = await app_client.patch(url, json={"status": "open"}, headers=tenant.headers)
    assert reopened.json()["overdue"] is False  # a reopened case gets a fresh deadline
    assert reopened.json()["due_at"] > case["due_at"]


async def test_tenants_without_subscribers_queue_nothing(
    app_client, tenant, survey_id, database_url
) -> None:
    await post_batch(app_client, tenant, [{"survey_id": survey_id, "score": 1}])
    conn = await asyncpg.connect(database_url)
    try:
        queued = await conn.fetchval(
            "SELECT count(*) FROM webhook_events WHERE tenant_id = $1", uuid.UUID(tenant.id)
        )
    finally:
        await conn.close()
    assert queued == 0


async def test_erasure_also_redacts_the_customer_in_queued_webhook_events(
    app_client, tenant, survey_id, receiver, relay_pool, database_url
) -> None:
    await make_hook(app_client, tenant, receiver, ["response.created", "followup.updated"])
    await post_batch(
        app_client,
        tenant,
        [
            {
                "survey_id": survey_id,
                "score": 1,
                "customer_id": "cus-xq7",
                "comment": "call PHONE-Z9",
            }
        ],
    )
    case = (await app_client.get("/v1/followups", headers=tenant.headers)).json()["data"][0]
    await app_client.post(
        f"/v1/followups/{case['id']}/notes",
        json={"author": "li", "text": "spoke to cus-xq7 on PHONE-Z9"},
        headers=tenant.headers,
    )
    erased = await app_client.delete("/v1/customers/cus-xq7", headers=tenant.headers)
    assert erased.status_code == 200
    events = await _deliver(relay_pool, receiver, 2)  # sent only now: already redacted
    assert "cus-xq7" not in str(events) and "PHONE-Z9" not in str(events)
    assert events[1]["data"]["notes"][0]["text"] == "[redacted]"
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval(
            "SELECT string_agg(data::text, ' ') FROM webhook_events WHERE tenant_id = $1",
            uuid.UUID(tenant.id),
        )
    finally:
        await conn.close()
    assert "cus-xq7" not in stored and "PHONE-Z9" not in stored
    audit = (await app_client.get("/v1/audit", headers=tenant.headers)).json()["data"][0]
    assert audit["details"]["webhook_events_redacted"] == 2
