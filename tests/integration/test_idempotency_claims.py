"""Idempotency-Keys claimed inside the ingest transaction: running, recorded and corrected."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

import asyncpg

from api.writes import render_outcome
from infra.postgres.idempotency import LOCK_SPACE, decode_outcome
from tests.conftest import nps_total


async def test_key_held_by_a_running_request_elsewhere_is_409_at_once(
    app_client, tenant, survey_id, database_url
) -> None:
    # Another process's flush holds the key's lock until its transaction ends.
    other = await asyncpg.connect(database_url)
    try:
        tx = other.transaction()
        await tx.start()
        await other.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2::text || $3))",
            LOCK_SPACE,
            tenant.id,
            "held-elsewhere",
        )
        headers = tenant.headers | {"Idempotency-Key": "held-elsewhere"}
        body = {"survey_id": survey_id, "score": 9}
        r = await asyncio.wait_for(
            app_client.post("/v1/responses", json=body, headers=headers), timeout=10
        )
        assert r.status_code == 409, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert await nps_total(app_client, tenant) == 0
        await tx.rollback()
        r = await app_client.post("/v1/responses", json=body, headers=headers)
        assert r.status_code == 201 and "idempotent-replayed" not in r.headers
        assert await nps_total(app_client, tenant) == 1
    finally:
        await other.close()


async def test_claim_left_incomplete_by_a_dead_request_is_taken_over(
    app_client, tenant, survey_id, database_url
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO idempotency_keys (tenant_id, key, request_hash) VALUES ($1, $2, $3)",
            uuid.UUID(tenant.id),
            "orphan",
            b"\x00" * 32,
        )
        r = await app_client.post(
            "/v1/responses",
            json={"survey_id": survey_id, "score": 4},
            headers=tenant.headers | {"Idempotency-Key": "orphan"},
        )
        assert r.status_code == 201, r.text
        row = await conn.fetchrow(
            "SELECT outcome, completed_at FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
            uuid.UUID(tenant.id),
            "orphan",
        )
        assert row["completed_at"] is not None
        assert render_outcome(decode_outcome(row["outcome"])) == (201, r.content)
    finally:
        await conn.close()


async def test_replay_of_a_batch_with_a_known_external_id_gives_the_corrected_answer(
    app_client, tenant, survey_id
) -> None:
    first = await app_client.post(
        "/v1/responses",
        json={"survey_id": survey_id, "score": 10, "external_id": "crm-7"},
        headers=tenant.headers,
    )
    assert first.status_code == 201
    headers = tenant.headers | {"Idempotency-Key": "import-with-known"}
    items = [
        {"survey_id": survey_id, "score": 10, "external_id": "crm-7"},
        {"survey_id": survey_id, "score": 3},
        {"survey_id": str(uuid.uuid4()), "score": 5},
    ]
    r = await app_client.post("/v1/responses/batch", json={"responses": items}, headers=headers)
    assert r.status_code == 207, r.text
    statuses = [x["status"] for x in r.json()["results"]]
    assert statuses == [200, 201, 404]
    assert r.json()["results"][0]["id"] == first.json()["id"]
    again = await app_client.post("/v1/responses/batch", json={"responses": items}, headers=headers)
    assert again.status_code == 207 and again.headers.get("idempotent-replayed") == "true"
    assert again.json() == r.json()
    assert await nps_total(app_client, tenant) == 2


async def test_concurrent_posts_with_one_key_never_store_twice_and_all_get_an_answer(
    app_client, tenant, survey_id
) -> None:
    headers = tenant.headers | {"Idempotency-Key": "storm"}
    body = {"survey_id": survey_id, "score": 7}
    results = await asyncio.gather(
        *[app_client.post("/v1/responses", json=body, headers=headers) for _ in range(20)]
    )
    created = [r for r in results if r.status_code == 201]
    assert {r.status_code for r in results} <= {201, 409}
    assert len([r for r in created if "idempotent-replayed" not in r.headers]) == 1
    assert len({r.json()["id"] for r in created}) == 1
    assert await nps_total(app_client, tenant) == 1


async def test_a_key_recorded_as_status_and_body_by_an_older_version_replays_those_bytes(
    app_client, tenant, survey_id, database_url
) -> None:
    known = {"survey_id": survey_id, "score": 10, "external_id": "crm-legacy"}
    assert (await app_client.post("/v1/responses", json=known, headers=tenant.headers)).is_success
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1, microseconds=500)
    answered_at = an_hour_ago.astimezone(timezone(timedelta(hours=2))).isoformat()
    single = {"survey_id": survey_id, "score": 9, "answered_at": answered_at}
    items = [
        known,
        {"survey_id": survey_id, "score": 11},
        {"survey_id": survey_id, "score": 3, "comment": "slow"},
        {"survey_id": str(uuid.uuid4()), "score": 5},
    ]
    posts = [
        ("/v1/responses", single, "legacy-one"),
        ("/v1/responses/batch", {"responses": items}, "legacy-batch"),
    ]
    firsts = []
    conn = await asyncpg.connect(database_url)
    try:
        for path, body, key in posts:
            headers = tenant.headers | {"Idempotency-Key": key}
            first = await app_client.post(path, json=body, headers=headers)
            firsts.append(first)
            # What a process of the previous version recorded: the status and the body.
            await conn.execute(
                "UPDATE idempotency_keys SET outcome = NULL, status_code = $3, body = $4"
                " WHERE tenant_id = $1 AND key = $2",
                uuid.UUID(tenant.id),
                key,
                first.status_code,
                first.content,
            )
    finally:
        await conn.close()
    assert [f.status_code for f in firsts] == [201, 207]
    for (path, body, key), first in zip(posts, firsts, strict=True):
        headers = tenant.headers | {"Idempotency-Key": key}
        again = await app_client.post(path, json=body, headers=headers)
        assert again.status_code == first.status_code
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.content == first.content
    assert await nps_total(app_client, tenant) == 3
