"""Tenants, API keys and surveys over HTTP, on real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import uuid

from tests.conftest import TenantCtx, make_tenant

PROBLEM = "application/problem+json"


async def test_admin_routes_need_the_admin_token(app_client, tenant: TenantCtx) -> None:
    r = await app_client.get("/v1/admin/tenants")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith(PROBLEM)
    r = await app_client.get("/v1/admin/tenants", headers=tenant.headers)
    assert r.status_code == 401


async def test_create_tenant_returns_it_and_lists_it(app_client, admin_headers) -> None:
    r = await app_client.post(
        "/v1/admin/tenants",
        json={"name": "Globex", "timezone": "Europe/Berlin"},
        headers=admin_headers,
    )
    assert r.status_code == 201
    body = r.json()
    assert body["name"] == "Globex" and body["timezone"] == "Europe/Berlin"
    assert set(body) == {"id", "name", "timezone", "created_at", "rate_limits"}
    seen, cursor = [], None
    while True:
        params = {"limit": 50} | ({"cursor": cursor} if cursor else {})
        page = (
            await app_client.get("/v1/admin/tenants", params=params, headers=admin_headers)
        ).json()
        seen += [t["id"] for t in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert body["id"] in seen
    assert len(seen) == len(set(seen))


async def test_tenant_time_zone_defaults_to_utc_and_rejects_unknown(
    app_client, admin_headers
) -> None:
    r = await app_client.post("/v1/admin/tenants", json={"name": "X"}, headers=admin_headers)
    assert r.json()["timezone"] == "UTC"
    r = await app_client.post(
        "/v1/admin/tenants", json={"name": "X", "timezone": "Mars/Olympus"}, headers=admin_headers
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "timezone"


async def test_key_with_unknown_scope_is_rejected(app_client, admin_headers, tenant) -> None:
    r = await app_client.post(
        f"/v1/admin/tenants/{tenant.id}/keys",
        json={"name": "k", "scopes": ["root"]},
        headers=admin_headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"].startswith("scopes")


async def test_key_for_unknown_tenant_is_404(app_client, admin_headers) -> None:
    r = await app_client.post(
        f"/v1/admin/tenants/{uuid.uuid4()}/keys",
        json={"name": "k", "scopes": ["manage"]},
        headers=admin_headers,
    )
    assert r.status_code == 404


async def test_revoked_key_is_refused_at_once(app_client, admin_headers, tenant) -> None:
    r = await app_client.post(
        f"/v1/admin/tenants/{tenant.id}/keys",
        json={"name": "tmp", "scopes": ["manage"]},
        headers=admin_headers,
    )
    key = r.json()
    headers = {"Authorization": f"Bearer {key['key']}"}
    assert (await app_client.get("/v1/surveys", headers=headers)).status_code == 200
    r = await app_client.delete(
        f"/v1/admin/tenants/{tenant.id}/keys/{key['id']}", headers=admin_headers
    )
    assert r.status_code == 204
    r = await app_client.get("/v1/surveys", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith(PROBLEM)


async def test_wrong_and_malformed_keys_are_401(app_client, tenant) -> None:
    forged = tenant.key[:-4] + ("AAAA" if not tenant.key.endswith("AAAA") else "BBBB")
    real = {"Authorization": f"Bearer {tenant.key}"}
    assert (await app_client.get("/v1/surveys", headers=real)).status_code == 200  # cached now
    for header in [f"Bearer {forged}", "Bearer nps_garbage", "Basic abc", "Bearer "]:
        r = await app_client.get("/v1/surveys", headers={"Authorization": header})
        assert r.status_code == 401, header
    assert (await app_client.get("/v1/surveys")).status_code == 401


async def test_missing_scope_is_403(app_client, admin_headers) -> None:
    writer = await make_tenant(app_client, admin_headers, scopes=["responses:write"])
    r = await app_client.get("/v1/nps", headers=writer.headers)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith(PROBLEM)
    r = await app_client.post(
        "/v1/surveys", json={"name": "S", "kind": "relational"}, headers=writer.headers
    )
    assert r.status_code == 403


async def test_survey_lifecycle(app_client, tenant) -> None:
    r = await app_client.post(
        "/v1/surveys",
        json={"name": "Support", "kind": "transactional", "question": "How likely…?"},
        headers=tenant.headers,
    )
    assert r.status_code == 201
    survey = r.json()
    assert survey["archived"] is False and survey["kind"] == "transactional"
    r = await app_client.patch(
        f"/v1/surveys/{survey['id']}", json={"name": "Support desk"}, headers=tenant.headers
    )
    assert r.status_code == 200 and r.json()["name"] == "Support desk"
    assert r.json()["question"] == "How likely…?"
    r = await app_client.post(f"/v1/surveys/{survey['id']}/archive", headers=tenant.headers)
    assert r.status_code == 200 and r.json()["archived"] is True
    r = await app_client.get(f"/v1/surveys/{survey['id']}", headers=tenant.headers)
    assert r.json()["archived"] is True
    listed = (await app_client.get("/v1/surveys", headers=tenant.headers)).json()
    assert [s["id"] for s in listed["data"]] == [survey["id"]]


async def test_survey_bad_input_is_422_naming_the_field(app_client, tenant) -> None:
    cases = [
        ({"name": "S", "kind": "weekly"}, "kind"),
        ({"kind": "relational"}, "name"),
        ({"name": "S", "kind": "relational", "colour": "red"}, "colour"),
        ({"name": "", "kind": "relational"}, "name"),
    ]
    for body, field in cases:
        r = await app_client.post("/v1/surveys", json=body, headers=tenant.headers)
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith(PROBLEM)
        assert [e["field"] for e in r.json()["errors"]] == [field], r.json()
    listed = (await app_client.get("/v1/surveys", headers=tenant.headers)).json()
    assert listed["data"] == []


async def test_surveys_of_another_tenant_answer_404_like_unknown_ids(
    app_client, admin_headers, tenant, survey_id
) -> None:
    other = await make_tenant(app_client, admin_headers)
    unknown = str(uuid.uuid4())
    for sid in (survey_id, unknown):
        r = await app_client.get(f"/v1/surveys/{sid}", headers=other.headers)
        assert r.status_code == 404
        assert r.json()["detail"] == "survey not found"
        r = await app_client.patch(f"/v1/surveys/{sid}", json={"name": "x"}, headers=other.headers)
        assert r.status_code == 404
        r = await app_client.post(f"/v1/surveys/{sid}/archive", headers=other.headers)
        assert r.status_code == 404
    assert (await app_client.get("/v1/surveys", headers=other.headers)).json()["data"] == []


async def test_malformed_ids_in_paths_answer_404(app_client, tenant) -> None:
    r = await app_client.get("/v1/surveys/not-a-uuid", headers=tenant.headers)
    assert r.status_code == 404


async def test_revocation_reaches_another_api_process_at_once(
    app_client, admin_headers, tenant, settings
) -> None:
    """Keys are cached per process; a revocation through one process evicts it in all."""
    from litestar.testing import AsyncTestClient

    from api.app import create_app

    r = await app_client.post(
        f"/v1/admin/tenants/{tenant.id}/keys",
        json={"name": "shared", "scopes": ["manage"]},
        headers=admin_headers,
    )
    key = r.json()
    headers = {"Authorization": f"Bearer {key['key']}"}
    async with AsyncTestClient(app=create_app(settings), base_url="http://other.test") as other:
        assert (await other.get("/v1/surveys", headers=headers)).status_code == 200  # cached
        revoked = await app_client.delete(
            f"/v1/admin/tenants/{tenant.id}/keys/{key['id']}", headers=admin_headers
        )
        assert revoked.status_code == 204
        for _ in range(50):  # pub/sub delivery takes a moment, far below the 5 s TTL
            if (await other.get("/v1/surveys", headers=headers)).status_code == 401:
                break
            await asyncio.sleep(0.02)
        assert (await other.get("/v1/surveys", headers=headers)).status_code == 401


def test_every_tenant_route_declares_the_scopes_it_needs() -> None:
    """Scopes are checked by the auth middleware from each route's opt: none may lack it."""
    from api.app import create_app
    from api.auth import SCOPES_OPT
    from infra.settings import Settings

    app = create_app(Settings())
    unguarded = [
        f"{method} {route.path}"
        for route in app.routes
        if route.path.startswith("/v1/") and not route.path.startswith("/v1/admin")
        for handler in getattr(route, "route_handlers", [])
        for method in handler.http_methods
        if SCOPES_OPT not in handler.opt and method != "OPTIONS"
    ]
    assert unguarded == []
