"""What the service sends is what the spec documents: status, media type and headers."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.conftest import TenantCtx, make_tenant

SPEC = json.loads((Path(__file__).resolve().parents[2] / "openapi" / "openapi.json").read_text())


def assert_documented(response, method: str, template: str) -> dict:  # type: ignore[no-untyped-def]
    """The documented response for the answer, after checking media type and headers."""
    op = SPEC["paths"][template][method.lower()]
    status = str(response.status_code)
    assert status in op["responses"], f"{method} {template} answered undocumented {status}"
    documented = op["responses"][status]
    media = response.headers.get("content-type", "").split(";")[0]
    if response.content:
        assert media in documented.get("content", {}), f"{method} {template} {status} {media}"
    for name in documented.get("headers", {}):
        header = SPEC["components"]["headers"][name]
        if header.get("required"):
            assert response.headers.get(name), f"{method} {template} {status} lacks {name}"
    return documented


async def test_error_answers_are_documented_problems_with_request_id(
    app_client, tenant: TenantCtx, survey_id: str
) -> None:
    h = tenant.headers
    j = {**h, "Content-Type": "application/json"}
    sent = [
        ("POST", "/v1/surveys", await app_client.post("/v1/surveys", content=b"{", headers=j)),
        ("GET", "/v1/surveys", await app_client.get("/v1/surveys")),
        (
            "POST",
            "/v1/responses",
            await app_client.post(
                "/v1/responses", json={"survey_id": survey_id, "score": 11}, headers=h
            ),
        ),
        (
            "GET",
            "/v1/surveys/{survey_id}",
            await app_client.get(f"/v1/surveys/{uuid.uuid4()}", headers=h),
        ),
        (
            "POST",
            "/v1/responses",
            await app_client.post("/v1/responses", content=b"x" * (1 << 20 + 1), headers=j),
        ),
        ("GET", "/v1/nps", await app_client.get("/v1/nps?from=yesterday", headers=h)),
    ]
    assert [r.status_code for _, _, r in sent] == [400, 401, 422, 404, 413, 422]
    for method, template, response in sent:
        assert_documented(response, method, template)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == response.status_code
    assert sent[1][2].headers["www-authenticate"] == "Bearer"
    assert sent[2][2].json()["errors"][0]["field"] == "score"


async def test_missing_scope_answers_the_documented_403(app_client, admin_headers) -> None:  # type: ignore[no-untyped-def]
    writer = await make_tenant(app_client, admin_headers, scopes=["responses:write"])
    r = await app_client.get("/v1/nps", headers=writer.headers)
    assert r.status_code == 403
    assert_documented(r, "GET", "/v1/nps")


async def test_replay_carries_the_documented_idempotent_replayed_header(
    app_client, tenant: TenantCtx, survey_id: str
) -> None:
    body = {"survey_id": survey_id, "score": 9}
    headers = {**tenant.headers, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = await app_client.post("/v1/responses", json=body, headers=headers)
    again = await app_client.post("/v1/responses", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    documented = assert_documented(again, "POST", "/v1/responses")
    assert "Idempotent-Replayed" in documented["headers"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.json() == first.json()


async def test_public_routes_answer_as_documented(app_client) -> None:  # type: ignore[no-untyped-def]
    for template in ("/health/live", "/health/ready"):
        r = await app_client.get(template)
        assert r.status_code == 200
        assert_documented(r, "GET", template)
        assert r.json()["status"] in ("ok", "degraded")


async def test_batch_item_errors_are_problems_with_a_type(
    app_client, tenant: TenantCtx, survey_id: str
) -> None:
    items = [
        {"survey_id": survey_id, "score": 9},
        {"survey_id": survey_id, "score": 11},
        {"survey_id": str(uuid.uuid4()), "score": 3},
    ]
    r = await app_client.post(
        "/v1/responses/batch", json={"responses": items}, headers=tenant.headers
    )
    assert r.status_code == 207
    assert_documented(r, "POST", "/v1/responses/batch")
    ok, invalid, unknown = r.json()["results"]
    assert "error" not in ok
    assert invalid["error"]["type"] == "urn:nps-api:problem:validation-error"
    assert invalid["error"]["errors"] == [
        {"field": "responses[1].score", "message": "Expected `int` <= 10"}
    ]
    assert unknown["error"]["type"] == "urn:nps-api:problem:not-found"
    assert unknown["error"]["status"] == unknown["status"] == 404


async def test_served_spec_is_the_committed_one(app_client) -> None:  # type: ignore[no-untyped-def]
    r = await app_client.get("/docs/openapi.json")
    assert r.status_code == 200
    assert r.json() == SPEC
