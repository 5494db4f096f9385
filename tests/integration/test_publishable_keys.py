"""Publishable keys: bound to surveys and origins, they only record allowed answers."""

from __future__ import annotations

import secrets

import pytest

from tests.conftest import TenantCtx, nps_total

SHOP = "https://shop.example"


async def publishable(client, tenant: TenantCtx, survey: str, **grant) -> str:  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/keys",
        json={
            "name": "website",
            "kind": "publishable",
            "surveys": [{"survey_id": survey, **grant}],
            "origins": [SHOP, "http://127.0.0.1:8123"],
        },
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == "publishable" and body["scopes"] == ["responses:write"]
    return str(body["key"])


async def _publishable_key(client, tenant: TenantCtx, survey: str, origin: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The created key's body (its id and its text) for one survey and one origin."""
    r = await client.post(
        "/v1/keys",
        json={
            "name": "w",
            "kind": "publishable",
            "surveys": [{"survey_id": survey}],
            "origins": [origin],
        },
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


async def stored(client, tenant: TenantCtx) -> int:  # type: ignore[no-untyped-def]
    r = await client.get("/v1/responses", headers=tenant.headers)
    assert r.status_code == 200, r.text
    return len(r.json()["data"])


async def test_publishable_key_has_its_own_prefix_and_records_an_allowed_answer(
    app_client, tenant, survey_id
) -> None:
    key = await publishable(app_client, tenant, survey_id, segments=["plan"], customer_id=True)
    assert key.startswith("pk_") and not key.startswith("nps_")
    body = {"survey_id": survey_id, "score": 9, "customer_id": "c1", "segments": {"plan": "pro"}}
    r = await app_client.post("/v1/responses", json=body, headers=auth(key, Origin=SHOP))
    assert r.status_code == 201, r.text
    assert r.headers["access-control-allow-origin"] == SHOP
    assert "*" not in r.headers["access-control-allow-origin"]
    assert "access-control-allow-credentials" not in r.headers
    assert await stored(app_client, tenant) == 1


async def test_admin_can_create_a_publishable_key_too(
    app_client, admin_headers, tenant, survey_id
) -> None:
    r = await app_client.post(
        f"/v1/admin/tenants/{tenant.id}/keys",
        json={
            "name": "site",
            "kind": "publishable",
            "surveys": [{"survey_id": survey_id}],
            "origins": [SHOP],
        },
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    ok = await app_client.post(
        "/v1/responses", json={"survey_id": survey_id, "score": 3}, headers=auth(key)
    )
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"segments": {"team": "sales"}}, "segment 'team'"),
        ({"customer_id": "c1"}, "customer_id"),
        ({"external_id": "e1"}, "external_id"),
        ({"answered_at": "2026-01-01T00:00:00Z"}, "answered_at"),
    ],
)
async def test_fields_outside_the_surveys_allow_list_are_refused_and_nothing_stored(
    app_client, tenant, survey_id, extra, words
) -> None:
    key = await publishable(app_client, tenant, survey_id, segments=["plan"])
    body = {"survey_id": survey_id, "score": 5, **extra}
    r = await app_client.post("/v1/responses", json=body, headers=auth(key))
    assert r.status_code == 403, r.text
    assert words in r.json()["detail"]
    assert await stored(app_client, tenant) == 0


async def test_another_survey_of_the_tenant_is_refused(app_client, tenant, survey_id) -> None:
    key = await publishable(app_client, tenant, survey_id)
    other = await app_client.post(
        "/v1/surveys", json={"name": "Other", "kind": "transactional"}, headers=tenant.headers
    )
    body = {"survey_id": other.json()["id"], "score": 5}
    r = await app_client.post("/v1/responses", json=body, headers=auth(key))
    assert r.status_code == 403
    assert await stored(app_client, tenant) == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nps"),
        ("GET", "/v1/surveys"),
        ("GET", "/v1/responses"),
        ("POST", "/v1/responses/batch"),
        ("POST", "/v1/tokens"),
        ("POST", "/v1/keys"),
    ],
)
async def test_every_other_route_answers_403(app_client, tenant, survey_id, method, path) -> None:
    key = await publishable(app_client, tenant, survey_id)
    r = await app_client.request(method, path, json={}, headers=auth(key))
    assert r.status_code == 403, r.text
    assert "publishable" in r.json()["detail"]


async def test_body_over_8_kib_is_413(app_client, tenant, survey_id) -> None:
    key = await publishable(app_client, tenant, survey_id)
    body = {"survey_id": survey_id, "score": 5, "comment": "x" * 9000}
    r = await app_client.post("/v1/responses", json=body, headers=auth(key))
    assert r.status_code == 413, r.text
    assert "8192" in r.json()["detail"]
    assert await stored(app_client, tenant) == 0


async def test_idempotency_key_counts_a_double_submit_once(app_client, tenant, survey_id) -> None:
    key = await publishable(app_client, tenant, survey_id)
    body = {"survey_id": survey_id, "score": 10, "comment": "great"}
    headers = auth(key, **{"Idempotency-Key": "widget-abc"})
    first = await app_client.post("/v1/responses", json=body, headers=headers)
    again = await app_client.post("/v1/responses", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert first.json()["id"] == again.json()["id"]
    assert await stored(app_client, tenant) == 1


async def test_revoked_publishable_key_is_refused_at_once(app_client, tenant, survey_id) -> None:
    created = await _publishable_key(app_client, tenant, survey_id, SHOP)
    key, key_id = created["key"], created["id"]
    body = {"survey_id": survey_id, "score": 5}
    assert (await app_client.post("/v1/responses", json=body, headers=auth(key))).status_code == 201
    gone = await app_client.delete(f"/v1/keys/{key_id}", headers=tenant.headers)
    assert gone.status_code == 204
    assert (await app_client.post("/v1/responses", json=body, headers=auth(key))).status_code == 401
    assert await nps_total(app_client, tenant) <= 1


async def test_revoked_key_origin_fails_the_next_preflight(app_client, tenant, survey_id) -> None:
    origin = f"https://shop-{secrets.token_hex(4)}.example"
    created = await _publishable_key(app_client, tenant, survey_id, origin)
    ask = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    ok = await app_client.options("/v1/responses", headers=ask)
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == origin
    gone = await app_client.delete(f"/v1/keys/{created['id']}", headers=tenant.headers)
    assert gone.status_code == 204
    after = await app_client.options("/v1/responses", headers=ask)
    assert "access-control-allow-origin" not in after.headers


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "publishable", "origins": [SHOP]}, "surveys"),
        ({"kind": "publishable", "surveys": "S", "origins": []}, "origins"),
        (
            {"kind": "publishable", "surveys": "S", "origins": ["https://shop.example/path"]},
            "origins[0]",
        ),
        ({"kind": "publishable", "surveys": "S", "origins": ["*"]}, "origins[0]"),
        (
            {"kind": "publishable", "surveys": "S", "origins": [SHOP], "scopes": ["manage"]},
            "scopes",
        ),
        ({"kind": "secret", "scopes": []}, "scopes"),
        ({"kind": "secret", "scopes": ["manage"], "origins": [SHOP]}, "surveys"),
    ],
)
async def test_invalid_key_requests_name_the_field(
    app_client, tenant, survey_id, body, field
) -> None:
    if body.get("surveys") == "S":
        body = {**body, "surveys": [{"survey_id": survey_id}]}
    r = await app_client.post("/v1/keys", json={"name": "k", **body}, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


async def test_another_tenants_survey_answers_like_a_missing_one(
    app_client, admin_headers, tenant, survey_id
) -> None:
    from tests.conftest import make_tenant

    other = await make_tenant(app_client, admin_headers)
    body = {
        "name": "k",
        "kind": "publishable",
        "surveys": [{"survey_id": survey_id}],
        "origins": [SHOP],
    }
    r = await app_client.post("/v1/keys", json=body, headers=other.headers)
    assert r.status_code == 404


async def test_a_key_cannot_create_a_secret_key_with_more_scopes(app_client, admin_headers) -> None:
    from tests.conftest import make_tenant

    manager = await make_tenant(app_client, admin_headers, scopes=["manage"])
    body = {"name": "k", "scopes": ["results:read"]}
    r = await app_client.post("/v1/keys", json=body, headers=manager.headers)
    assert r.status_code == 403
    ok = await app_client.post(
        "/v1/keys", json={"name": "k", "scopes": ["manage"]}, headers=manager.headers
    )
    assert ok.status_code == 201 and ok.json()["key"].startswith("nps_")


async def test_keys_are_listed_without_secrets_newest_first_with_revocations(
    app_client, admin_headers, survey_id
) -> None:
    from tests.conftest import make_tenant

    owner = await make_tenant(app_client, admin_headers)
    s = await app_client.post(
        "/v1/surveys", json={"name": "S", "kind": "relational"}, headers=owner.headers
    )
    body = {
        "name": "site",
        "kind": "publishable",
        "surveys": [{"survey_id": s.json()["id"], "segments": ["plan"]}],
        "origins": [SHOP],
    }
    created = (await app_client.post("/v1/keys", json=body, headers=owner.headers)).json()
    await app_client.delete(f"/v1/keys/{created['id']}", headers=owner.headers)
    r = await app_client.get("/v1/keys?limit=1", headers=owner.headers)
    assert r.status_code == 200, r.text
    (first,) = r.json()["data"]
    assert first["id"] == created["id"] and first["kind"] == "publishable"
    assert first["surveys"] == [
        {"survey_id": s.json()["id"], "segments": ["plan"], "customer_id": False}
    ]
    assert first["revoked_at"] is not None and "key" not in first
    rest = await app_client.get(f"/v1/keys?cursor={r.json()['next_cursor']}", headers=owner.headers)
    assert [k["kind"] for k in rest.json()["data"]] == ["secret"]  # the tenant's first key
    assert created["key"] not in r.text + rest.text
