"""Browser tokens and CORS: short-lived, read-only, fixed to a segment, for given origins."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import TenantCtx, answers_on, post_batch

SHOP = "https://shop.example"
PARTNER = "https://partner.example"


async def token(client, tenant: TenantCtx, **body) -> str:  # type: ignore[no-untyped-def]
    r = await client.post("/v1/tokens", json={"origins": [SHOP], **body}, headers=tenant.headers)
    assert r.status_code == 201, r.text
    assert r.json()["token"].startswith("nbt_")
    return str(r.json()["token"])


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


@pytest.fixture
async def answered(app_client, tenant, survey_id) -> None:  # type: ignore[no-untyped-def]
    today = date.today().isoformat()
    await post_batch(app_client, tenant, answers_on(survey_id, today, [10, 9, 3], team="support"))
    await post_batch(app_client, tenant, answers_on(survey_id, today, [0, 1], team="sales"))


async def test_token_with_a_segment_reads_only_that_segment(app_client, tenant, answered) -> None:
    t = await token(app_client, tenant, segment="team:support")
    own = await app_client.get("/v1/nps", headers=auth(t, Origin=SHOP))
    assert own.status_code == 200, own.text
    assert own.json()["total"] == 3
    assert own.headers["access-control-allow-origin"] == SHOP
    explicit = await app_client.get("/v1/nps?segment=team:support", headers=auth(t))
    assert explicit.json()["total"] == 3
    other = await app_client.get("/v1/nps?segment=team:sales", headers=auth(t))
    assert other.status_code == 403, other.text
    groups = await app_client.get("/v1/nps/breakdown?dimension=team", headers=auth(t))
    assert [g["value"] for g in groups.json()["groups"]] == ["support"]
    compare = await app_client.get(
        "/v1/nps/compare?a_segment=team:support&b_segment=team:sales", headers=auth(t)
    )
    assert compare.status_code == 403


async def test_token_without_a_segment_reads_everything(app_client, tenant, answered) -> None:
    t = await token(app_client, tenant)
    r = await app_client.get("/v1/nps", headers=auth(t))
    assert r.json()["total"] == 5


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/responses"), ("POST", "/v1/responses"), ("GET", "/v1/surveys")],
)
async def test_token_is_refused_outside_results(app_client, tenant, method, path) -> None:
    t = await token(app_client, tenant)
    r = await app_client.request(method, path, json={}, headers=auth(t))
    assert r.status_code == 403
    assert "browser token" in r.json()["detail"]


async def test_revoking_the_issuing_key_stops_its_tokens_at_once(
    app_client, admin_headers, tenant
) -> None:
    r = await app_client.post(
        "/v1/keys",
        json={"name": "issuer", "scopes": ["manage", "results:read"]},
        headers=tenant.headers,
    )
    issuer = TenantCtx(id=tenant.id, key=r.json()["key"], timezone="UTC")
    t = await token(app_client, issuer)
    assert (await app_client.get("/v1/nps", headers=auth(t))).status_code == 200
    await app_client.delete(f"/v1/keys/{r.json()['id']}", headers=tenant.headers)
    assert (await app_client.get("/v1/nps", headers=auth(t))).status_code == 401


async def test_a_tampered_token_is_refused(app_client, tenant) -> None:
    t = await token(app_client, tenant)
    payload, signature = t.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    assert (await app_client.get("/v1/nps", headers=auth(forged))).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ttl_seconds": 3601}, "ttl_seconds"),
        ({"scopes": ["manage"]}, "scopes[0]"),
        ({"origins": ["https://x.example/"]}, "origins[0]"),
        ({"segment": "team"}, "segment"),
    ],
)
async def test_invalid_token_requests_name_the_field(app_client, tenant, body, field) -> None:
    r = await app_client.post(
        "/v1/tokens", json={"origins": [SHOP], **body}, headers=tenant.headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


async def test_token_needs_the_read_scope_on_the_issuing_key(app_client, admin_headers) -> None:
    from tests.conftest import make_tenant

    manager = await make_tenant(app_client, admin_headers, scopes=["manage"])
    r = await app_client.post("/v1/tokens", json={"origins": [SHOP]}, headers=manager.headers)
    assert r.status_code == 403


async def test_preflight_allows_only_origins_of_live_keys_and_tokens(app_client, tenant) -> None:
    await token(app_client, tenant, segment="team:support")
    ask = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    ok = await app_client.options("/v1/nps", headers={"Origin": SHOP, **ask})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == SHOP
    assert "authorization" in ok.headers["access-control-allow-headers"]
    assert "idempotency-key" in ok.headers["access-control-allow-headers"]
    assert "POST" in ok.headers["access-control-allow-methods"]
    other = await app_client.options("/v1/nps", headers={"Origin": PARTNER, **ask})
    assert not [h for h in other.headers if h.lower().startswith("access-control-")]
    admin = await app_client.options("/v1/admin/tenants", headers={"Origin": SHOP, **ask})
    assert "access-control-allow-origin" not in admin.headers


async def test_other_origins_are_refused_without_cors_headers(app_client, tenant) -> None:
    t = await token(app_client, tenant)
    r = await app_client.get("/v1/nps", headers=auth(t, Origin=PARTNER))
    assert r.status_code == 403
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]


async def test_secret_keys_never_get_cors_headers(app_client, tenant) -> None:
    await token(app_client, tenant)
    r = await app_client.get("/v1/nps", headers={**tenant.headers, "Origin": SHOP})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers
