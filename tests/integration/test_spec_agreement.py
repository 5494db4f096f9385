"""Answers that once disagreed with the README or the spec, checked as a client reads them."""

from __future__ import annotations

import json
import uuid

from api.docs_assets import ASSETS_PATH
from tests.conftest import TenantCtx


async def test_a_problem_type_has_one_title_whoever_raises_it(
    app_client, tenant: TenantCtx, survey_id: str
) -> None:
    h = tenant.headers
    body_error = await app_client.post(
        "/v1/responses", json={"survey_id": survey_id, "score": 11}, headers=h
    )
    query_error = await app_client.get("/v1/responses?limit=0", headers=h)
    assert body_error.status_code == query_error.status_code == 422
    assert body_error.json()["type"] == query_error.json()["type"]
    assert body_error.json()["title"] == query_error.json()["title"] == "Invalid input"
    missing = await app_client.get(f"/v1/surveys/{uuid.uuid4()}", headers=h)
    malformed = await app_client.get("/v1/surveys/not-an-id", headers=h)
    assert missing.status_code == malformed.status_code == 404
    assert missing.json()["title"] == malformed.json()["title"] == "Not found"


async def test_idempotency_key_errors_name_the_header(
    app_client, tenant: TenantCtx, survey_id: str
) -> None:
    h = tenant.headers
    too_long = await app_client.post(
        "/v1/responses",
        json={"survey_id": survey_id, "score": 9},
        headers={**h, "Idempotency-Key": "k" * 256},
    )
    assert too_long.status_code == 422
    assert [e["field"] for e in too_long.json()["errors"]] == ["Idempotency-Key"]
    first = {"survey_id": survey_id, "score": 9}
    key = {**h, "Idempotency-Key": f"audit-{uuid.uuid4()}"}
    assert (await app_client.post("/v1/responses", json=first, headers=key)).status_code == 201
    reused = await app_client.post("/v1/responses", json={**first, "score": 3}, headers=key)
    assert reused.status_code == 422
    assert reused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in reused.json()["errors"]] == ["Idempotency-Key"]


async def test_customer_export_as_ndjson_is_sent_as_ndjson(
    app_client, tenant: TenantCtx, survey_id: str
) -> None:
    answer = {"survey_id": survey_id, "score": 10, "customer_id": "cus_export"}
    r = await app_client.post("/v1/responses", json=answer, headers=tenant.headers)
    assert r.status_code == 201
    ndjson = await app_client.get("/v1/exports/customers?format=ndjson", headers=tenant.headers)
    assert ndjson.status_code == 200
    assert ndjson.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in ndjson.text.splitlines()]
    assert [line["customer_id"] for line in lines] == ["cus_export"]
    csv = await app_client.get("/v1/exports/customers", headers=tenant.headers)
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.text.startswith("customer_id,")


async def test_redelivery_is_accepted_without_a_body(app_client, tenant: TenantCtx) -> None:
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["webhook.test"]}
    created = await app_client.post("/v1/webhooks", json=hook, headers=tenant.headers)
    assert created.status_code == 201, created.text
    base = f"/v1/webhooks/{created.json()['id']}"
    queued = await app_client.post(f"{base}/test", headers=tenant.headers)
    assert queued.status_code == 202
    delivery = queued.json()["delivery_id"]
    again = await app_client.post(f"{base}/deliveries/{delivery}/redeliver", headers=tenant.headers)
    assert again.status_code == 202
    assert again.content == b""  # the spec documents no body; JSON `null` is one


async def test_a_created_tenant_says_where_to_read_it(app_client, admin_headers) -> None:  # type: ignore[no-untyped-def]
    created = await app_client.post(
        "/v1/admin/tenants", json={"name": "Located"}, headers=admin_headers
    )
    assert created.status_code == 201
    location = created.headers["location"]
    assert location == f"/v1/admin/tenants/{created.json()['id']}"
    read = await app_client.get(location, headers=admin_headers)
    assert read.status_code == 200 and read.json() == created.json()


async def test_text_answers_name_their_charset_once(
    app_client, tenant: TenantCtx, admin_headers
) -> None:  # type: ignore[no-untyped-def]
    h = tenant.headers
    answers = [
        await app_client.get("/metrics", headers=admin_headers),
        await app_client.get("/v1/digests/week", headers={**h, "Accept": "text/markdown"}),
        await app_client.get("/v1/digests/week", headers={**h, "Accept": "text/html"}),
        await app_client.get("/v1/responses/export", headers=h),
        await app_client.get("/widget.js"),
        await app_client.get(f"{ASSETS_PATH}/swagger-ui.css"),
        await app_client.get(f"{ASSETS_PATH}/swagger-ui-bundle.js"),
    ]
    for r in answers:
        assert r.status_code == 200, r.request.url
        media = r.headers["content-type"]
        assert media.startswith("text/") and media.count("charset=") == 1, media


async def test_an_idempotent_retry_must_repeat_the_body_byte_for_byte(
    app_client, tenant: TenantCtx, survey_id: str
) -> None:
    key = {**tenant.headers, "Idempotency-Key": f"bytes-{uuid.uuid4()}"}
    sent = json.dumps({"survey_id": survey_id, "score": 7}).encode()
    again = json.dumps({"score": 7, "survey_id": survey_id}, separators=(",", ":")).encode()
    json_key = {**key, "Content-Type": "application/json"}
    assert (
        await app_client.post("/v1/responses", content=sent, headers=json_key)
    ).status_code == 201
    same = await app_client.post("/v1/responses", content=sent, headers=json_key)
    assert same.status_code == 201 and same.headers["idempotent-replayed"] == "true"
    reordered = await app_client.post("/v1/responses", content=again, headers=json_key)
    assert reordered.status_code == 422


async def test_a_period_of_results_as_the_readme_defines_it(app_client, tenant: TenantCtx) -> None:
    h = tenant.headers
    only_to = (await app_client.get("/v1/nps?to=2026-03-31", headers=h)).json()
    assert (only_to["from"], only_to["to"]) == ("2026-03-02", "2026-03-31")
    longest = await app_client.get("/v1/nps?from=2000-01-01&to=2010-01-07", headers=h)
    assert longest.status_code == 200  # 3660 days, both ends included
    longer = await app_client.get("/v1/nps?from=2000-01-01&to=2010-01-08", headers=h)
    assert longer.status_code == 422
    assert [e["field"] for e in longer.json()["errors"]] == ["to"]


async def test_a_case_kept_in_its_status_is_no_move(
    app_client, tenant: TenantCtx, survey_id: str
) -> None:
    h = tenant.headers
    answer = {"survey_id": survey_id, "score": 2, "customer_id": "cus_case"}
    assert (await app_client.post("/v1/responses", json=answer, headers=h)).status_code == 201
    case = (await app_client.get("/v1/followups", headers=h)).json()["data"][0]["id"]
    url = f"/v1/followups/{case}"
    moved = await app_client.patch(url, json={"status": "in_progress"}, headers=h)
    assert moved.status_code == 200
    kept = await app_client.patch(url, json={"status": "in_progress", "owner": "ana"}, headers=h)
    assert kept.status_code == 200 and kept.json()["owner"] == "ana"
    back = await app_client.patch(url, json={"status": "open"}, headers=h)
    assert back.status_code == 409
    early = await app_client.patch(url, json={"resolution": "Refunded"}, headers=h)
    assert early.status_code == 422
    assert [e["field"] for e in early.json()["errors"]] == ["resolution"]
