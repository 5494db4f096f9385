"""Posting, batching, listing and reading answers over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import POOLED, TenantCtx, make_tenant, nps_total

PROBLEM = "application/problem+json"


async def _stored(client, tenant: TenantCtx) -> list[dict]:
    r = await client.get("/v1/responses", params={"limit": 500}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def test_post_answer_returns_it_classified(app_client, tenant, survey_id) -> None:
    body = {
        "survey_id": survey_id,
        "score": 6,
        "comment": "slow support",
        "customer_id": "cust-1",
        "segments": {"team": "support", "region": "emea"},
        "locale": "de-DE",
        "external_id": "ticket-1",
    }
    r = await app_client.post("/v1/responses", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["category"] == "detractor"
    assert out["segments"] == {"team": "support", "region": "emea"}
    assert {"id", "received_at", "answered_at"} <= set(out)
    r = await app_client.get(f"/v1/responses/{out['id']}", headers=tenant.headers)
    assert r.status_code == 200 and r.json() == out


@pytest.mark.parametrize(
    ("score", "category"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
)
async def test_categories_follow_the_score(app_client, tenant, survey_id, score, category) -> None:
    r = await app_client.post(
        "/v1/responses", json={"survey_id": survey_id, "score": score}, headers=tenant.headers
    )
    assert r.json()["category"] == category


BAD_BODIES = [
    ({"score": -1}, "score"),
    ({"score": 11}, "score"),
    ({"score": 9.5}, "score"),
    ({"score": "9"}, "score"),
    ({"score": True}, "score"),
    ({"score": None}, "score"),
    ({"score": 9, "mood": "happy"}, "mood"),
    ({"score": 9, "answered_at": "yesterday"}, "answered_at"),
    ({"score": 9, "answered_at": "2026-01-01T10:00:00"}, "answered_at"),
    ({"score": 9, "comment": "x" * 5001}, "comment"),
    ({"score": 9, "segments": {f"d{i}": "v" for i in range(11)}}, "segments"),
    ({"score": 9, "segments": {"Team": "a"}}, "segments"),
    ({"score": 9, "segments": {"team": ""}}, "segments"),
    ({"score": 9, "segments": {"team": "x" * 101}}, "segments"),
    ({"score": 9, "segments": {"team": 5}}, "segments"),
    ({"score": 9, "external_id": ""}, "external_id"),
]


@pytest.mark.parametrize(("patch", "field"), BAD_BODIES)
async def test_bad_answer_is_422_naming_the_field_and_stores_nothing(
    app_client, tenant, survey_id, patch, field
) -> None:
    body = {"survey_id": survey_id, **patch}
    r = await app_client.post("/v1/responses", json=body, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    problem = r.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(problem)
    assert problem["status"] == 422
    assert problem["errors"][0]["field"] == field, problem
    assert await _stored(app_client, tenant) == []
    assert await nps_total(app_client, tenant) == 0


async def test_missing_survey_id_and_bad_uuid_are_422(app_client, tenant) -> None:
    r = await app_client.post("/v1/responses", json={"score": 9}, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "survey_id"
    r = await app_client.post(
        "/v1/responses", json={"survey_id": "nope", "score": 9}, headers=tenant.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "survey_id"


async def test_answer_far_in_the_future_is_422(app_client, tenant, survey_id) -> None:
    future = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    r = await app_client.post(
        "/v1/responses",
        json={"survey_id": survey_id, "score": 9, "answered_at": future},
        headers=tenant.headers,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "answered_at"
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    r = await app_client.post(
        "/v1/responses",
        json={"survey_id": survey_id, "score": 9, "answered_at": soon},
        headers=tenant.headers,
    )
    assert r.status_code == 201


async def test_malformed_json_is_400(app_client, tenant) -> None:
    r = await app_client.post(
        "/v1/responses",
        content=b'{"score": 9',
        headers=tenant.headers | {"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.headers["content-type"].startswith(PROBLEM)


async def test_body_over_one_mebibyte_is_413(app_client, tenant, survey_id) -> None:
    body = b'{"survey_id": "%s", "score": 9, "comment": "%s"}' % (
        survey_id.encode(),
        b"x" * (1024 * 1024 + 10),
    )
    r = await app_client.post(
        "/v1/responses", content=body, headers=tenant.headers | {"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.headers["content-type"].startswith(PROBLEM)
    assert await _stored(app_client, tenant) == []


async def test_unknown_and_foreign_surveys_are_404(
    app_client, admin_headers, tenant, survey_id
) -> None:
    other = await make_tenant(app_client, admin_headers)
    for sid, who in [(str(uuid.uuid4()), tenant), (survey_id, other)]:
        r = await app_client.post(
            "/v1/responses", json={"survey_id": sid, "score": 9}, headers=who.headers
        )
        assert r.status_code == 404
        assert r.json()["detail"] == "survey not found"
    assert await nps_total(app_client, other) == 0


async def test_archived_survey_refuses_answers_with_409_and_keeps_results(
    app_client, tenant, survey_id
) -> None:
    await app_client.post(
        "/v1/responses", json={"survey_id": survey_id, "score": 10}, headers=tenant.headers
    )
    await app_client.post(f"/v1/surveys/{survey_id}/archive", headers=tenant.headers)
    r = await app_client.post(
        "/v1/responses", json={"survey_id": survey_id, "score": 1}, headers=tenant.headers
    )
    assert r.status_code == 409
    r = await app_client.get("/v1/nps", params={"survey_id": survey_id}, headers=tenant.headers)
    assert r.json()["total"] == 1 and r.json()["nps"] == 100.0


async def test_answers_of_another_tenant_are_invisible(
    app_client, admin_headers, tenant, survey_id
) -> None:
    r = await app_client.post(
        "/v1/responses", json={"survey_id": survey_id, "score": 3}, headers=tenant.headers
    )
    answer_id = r.json()["id"]
    other = await make_tenant(app_client, admin_headers)
    r = await app_client.get(f"/v1/responses/{answer_id}", headers=other.headers)
    assert r.status_code == 404
    unknown = await app_client.get(f"/v1/responses/{uuid.uuid4()}", headers=other.headers)
    assert unknown.status_code == 404 and unknown.json()["detail"] == r.json()["detail"]
    assert await _stored(app_client, other) == []
    assert await nps_total(app_client, other) == 0


async def test_retry_with_same_idempotency_key_replays_and_counts_once(
    app_client, tenant, survey_id
) -> None:
    headers = tenant.headers | {"Idempotency-Key": "order-42"}
    body = {"survey_id": survey_id, "score": 9}
    first = await app_client.post("/v1/responses", json=body, headers=headers)
    second = await app_client.post("/v1/responses", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert await nps_total(app_client, tenant) == 1


async def test_same_idempotency_key_with_another_body_is_422(app_client, tenant, survey_id) -> None:
    headers = tenant.headers | {"Idempotency-Key": "k-1"}
    await app_client.post(
        "/v1/responses", json={"survey_id": survey_id, "score": 9}, headers=headers
    )
    r = await app_client.post(
        "/v1/responses", json={"survey_id": survey_id, "score": 3}, headers=headers
    )
    assert r.status_code == 422
    assert await nps_total(app_client, tenant) == 1


async def test_idempotency_keys_are_scoped_per_tenant(
    app_client, admin_headers, tenant, survey_id
) -> None:
    other = await make_tenant(app_client, admin_headers)
    r = await app_client.post(
        "/v1/surveys", json={"name": "S", "kind": "relational"}, headers=other.headers
    )
    other_survey = r.json()["id"]
    await app_client.post(
        "/v1/responses",
        json={"survey_id": survey_id, "score": 9},
        headers=tenant.headers | {"Idempotency-Key": "shared"},
    )
    r = await app_client.post(
        "/v1/responses",
        json={"survey_id": other_survey, "score": 9},
        headers=other.headers | {"Idempotency-Key": "shared"},
    )
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers


async def test_concurrent_retries_with_one_key_store_one_answer(
    app_client, tenant, survey_id
) -> None:
    headers = tenant.headers | {"Idempotency-Key": "burst"}
    body = {"survey_id": survey_id, "score": 10}
    results = await asyncio.gather(
        *[app_client.post("/v1/responses", json=body, headers=headers) for _ in range(8)]
    )
    statuses = sorted(r.status_code for r in results)
    assert set(statuses) <= {201, 409}
    assert 201 in statuses
    ids = {r.json()["id"] for r in results if r.status_code == 201}
    assert len(ids) == 1
    assert len(await _stored(app_client, tenant)) == 1
    assert await nps_total(app_client, tenant) == 1


async def test_failed_request_releases_its_idempotency_key(app_client, tenant, survey_id) -> None:
    headers = tenant.headers | {"Idempotency-Key": "retry-after-404"}
    r = await app_client.post(
        "/v1/responses", json={"survey_id": str(uuid.uuid4()), "score": 9}, headers=headers
    )
    assert r.status_code == 404
    # A corrected retry with the same key (another body) is not blocked forever.
    r = await app_client.post(
        "/v1/responses", json={"survey_id": survey_id, "score": 9}, headers=headers
    )
    assert r.status_code == 201


async def test_idempotency_key_longer_than_255_is_422(app_client, tenant, survey_id) -> None:
    r = await app_client.post(
        "/v1/responses",
        json={"survey_id": survey_id, "score": 9},
        headers=tenant.headers | {"Idempotency-Key": "k" * 256},
    )
    assert r.status_code == 422


async def test_external_id_posted_again_returns_the_stored_answer_counted_once(
    app_client, tenant, survey_id
) -> None:
    body = {"survey_id": survey_id, "score": 4, "external_id": "survey-link-77"}
    first = await app_client.post("/v1/responses", json=body, headers=tenant.headers)
    again = await app_client.post(
        "/v1/responses", json=body | {"score": 10}, headers=tenant.headers
    )
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["score"] == 4
    assert await nps_total(app_client, tenant) == 1


async def test_batch_stores_valid_items_and_reports_each(app_client, tenant, survey_id) -> None:
    items = [
        {"survey_id": survey_id, "score": 10},
        {"survey_id": survey_id, "score": 11},
        {"survey_id": survey_id, "score": 3, "segments": {"team": "a"}},
        {"survey_id": str(uuid.uuid4()), "score": 5},
        {"survey_id": survey_id, "score": "7"},
    ]
    r = await app_client.post(
        "/v1/responses/batch", json={"responses": items}, headers=tenant.headers
    )
    assert r.status_code == 207, r.text
    results = r.json()["results"]
    assert [x["index"] for x in results] == [0, 1, 2, 3, 4]
    assert [x["status"] for x in results] == [201, 422, 201, 404, 422]
    assert results[1]["error"]["errors"][0]["field"] == "responses[1].score"
    assert results[4]["error"]["errors"][0]["field"] == "responses[4].score"
    assert "id" in results[0] and "error" not in results[0]
    assert await nps_total(app_client, tenant) == 2


async def test_batch_all_valid_is_200(app_client, tenant, survey_id) -> None:
    items = [{"survey_id": survey_id, "score": s} for s in range(11)]
    r = await app_client.post(
        "/v1/responses/batch", json={"responses": items}, headers=tenant.headers
    )
    assert r.status_code == 200
    assert all(x["status"] == 201 for x in r.json()["results"])
    assert await nps_total(app_client, tenant) == 11


async def test_batch_limits(app_client, tenant, survey_id) -> None:
    r = await app_client.post("/v1/responses/batch", json={"responses": []}, headers=tenant.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "responses"
    items = [{"survey_id": survey_id, "score": 9}] * 1001
    r = await app_client.post(
        "/v1/responses/batch", json={"responses": items}, headers=tenant.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "responses"
    assert await nps_total(app_client, tenant) == 0


async def test_batch_with_idempotency_key_replays(app_client, tenant, survey_id) -> None:
    headers = tenant.headers | {"Idempotency-Key": "import-1"}
    body = {
        "responses": [{"survey_id": survey_id, "score": 9}, {"survey_id": survey_id, "score": 99}]
    }
    first = await app_client.post("/v1/responses/batch", json=body, headers=headers)
    second = await app_client.post("/v1/responses/batch", json=body, headers=headers)
    assert first.status_code == second.status_code == 207
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert await nps_total(app_client, tenant) == 1


async def test_listing_filters_and_pages_newest_first(app_client, tenant, survey_id) -> None:
    base = datetime(2026, 3, 1, 12, tzinfo=UTC)
    items = [
        {
            "survey_id": survey_id,
            "score": i % 11,
            "answered_at": (base + timedelta(days=i)).isoformat(),
            "segments": {"team": "a" if i % 2 else "b"},
        }
        for i in range(12)
    ]
    r = await app_client.post(
        "/v1/responses/batch", json={"responses": items}, headers=tenant.headers
    )
    assert r.status_code == 200
    seen, cursor = [], None
    while True:
        params = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        page = (await app_client.get("/v1/responses", params=params, headers=tenant.headers)).json()
        seen += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 12
    stamps = [x["answered_at"] for x in seen]
    assert stamps == sorted(stamps, reverse=True)
    r = await app_client.get(
        "/v1/responses",
        params={
            "from": "2026-03-03",
            "to": "2026-03-06",
            "segment": "team:a",
            "category": "detractor",
        },
        headers=tenant.headers,
    )
    got = r.json()["data"]
    assert {x["answered_at"][:10] for x in got} <= {"2026-03-04", "2026-03-06"}
    assert all(x["segments"]["team"] == "a" and x["score"] <= 6 for x in got)
    assert len(got) == 2


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"limit": "many"},
        {"from": "2026-13-01"},
        {"to": "03/01/2026"},
        {"from": "2026-03-05", "to": "2026-03-01"},
        {"segment": "team"},
        {"category": "fan"},
        {"cursor": "not-a-cursor"},
        {"survey_id": "x"},
    ],
)
async def test_listing_bad_parameters_are_422(app_client, tenant, params) -> None:
    r = await app_client.get("/v1/responses", params=params, headers=tenant.headers)
    assert r.status_code == 422, (params, r.text)
    assert r.headers["content-type"].startswith(PROBLEM)
    field = next(iter(params))
    assert r.json()["errors"][0]["field"] == field


async def test_idempotency_keys_are_forgotten_after_their_keeping_time(
    app_client, tenant, survey_id, database_url
) -> None:
    from infra.postgres.idempotency import KEEP_HOURS, purge_expired
    from infra.postgres.pool import create_pool

    for key in ("old", "recent"):
        r = await app_client.post(
            "/v1/responses",
            json={"survey_id": survey_id, "score": 9},
            headers=tenant.headers | {"Idempotency-Key": key},
        )
        assert r.status_code == 201
    pool = await create_pool(database_url, size=2, transaction_pooler=POOLED)
    try:
        await pool.execute(
            "UPDATE idempotency_keys SET created_at = now() - make_interval(hours => $2)"
            " WHERE tenant_id = $1 AND key = 'old'",
            uuid.UUID(tenant.id),
            KEEP_HOURS + 1,
        )
        assert await purge_expired(pool) >= 1
        left = await pool.fetch(
            "SELECT key FROM idempotency_keys WHERE tenant_id = $1", uuid.UUID(tenant.id)
        )
        assert [r["key"] for r in left] == ["recent"]
    finally:
        await pool.close()
