"""Webhook endpoints over HTTP: CRUD, secrets shown once, validation, isolation, scopes."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from infra.settings import load_settings
from tests.conftest import make_tenant

HOOK = {"url": "http://127.0.0.1:9/hook", "events": ["response.created"]}


async def _create(client, tenant, **body) -> dict:  # type: ignore[no-untyped-def]
    r = await client.post("/v1/webhooks", json={**HOOK, **body}, headers=tenant.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _fields(r) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["field"] for e in r.json().get("errors", [])]


async def test_create_shows_the_secret_once_and_crud_works(app_client, tenant) -> None:
    created = await _create(app_client, tenant, description="CRM sync")
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 32
    assert created["enabled"] and created["events"] == ["response.created"]
    hook = f"/v1/webhooks/{created['id']}"
    got = await app_client.get(hook, headers=tenant.headers)
    assert got.status_code == 200 and "secret" not in got.json()
    assert secret not in got.text
    listed = await app_client.get("/v1/webhooks", headers=tenant.headers)
    assert [w["id"] for w in listed.json()["data"]] == [created["id"]]
    assert secret not in listed.text
    patched = await app_client.patch(
        hook,
        json={
            "url": "http://127.0.0.1:9/other",
            "events": ["followup.created", "followup.created", "webhook.test"],
            "enabled": False,
            "description": None,
        },
        headers=tenant.headers,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["url"].endswith("/other") and body["enabled"] is False
    assert body["events"] == ["followup.created", "webhook.test"]
    assert body["description"] is None and "secret" not in body
    assert (await app_client.delete(hook, headers=tenant.headers)).status_code == 204
    assert (await app_client.get(hook, headers=tenant.headers)).status_code == 404
    assert (await app_client.delete(hook, headers=tenant.headers)).status_code == 404


async def test_list_is_paginated_newest_first(app_client, tenant) -> None:
    ids = [(await _create(app_client, tenant))["id"] for _ in range(3)]
    first = (await app_client.get("/v1/webhooks?limit=2", headers=tenant.headers)).json()
    assert [w["id"] for w in first["data"]] == ids[::-1][:2] and first["next_cursor"]
    second = await app_client.get(
        f"/v1/webhooks?limit=2&cursor={first['next_cursor']}", headers=tenant.headers
    )
    assert [w["id"] for w in second.json()["data"]] == [ids[0]]
    assert second.json()["next_cursor"] is None


async def test_rotate_secret_returns_a_new_secret_and_the_old_ones_expiry(
    app_client, tenant
) -> None:
    created = await _create(app_client, tenant)
    r = await app_client.post(f"/v1/webhooks/{created['id']}/rotate-secret", headers=tenant.headers)
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    expires = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=1)
    got = await app_client.get(f"/v1/webhooks/{created['id']}", headers=tenant.headers)
    assert rotated["secret"] not in got.text and created["secret"] not in got.text
    assert got.json()["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/hook",
        "http://user:pw@127.0.0.1/hook",
        "not a url",
        "http:///nohost",
        "javascript:alert(1)",
    ],
)
async def test_bad_urls_are_422_naming_url(app_client, tenant, url: str) -> None:
    r = await app_client.post("/v1/webhooks", json={**HOOK, "url": url}, headers=tenant.headers)
    assert r.status_code == 422 and _fields(r) == ["url"], r.text
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_unknown_or_no_events_are_422_naming_events(app_client, tenant) -> None:
    unknown = await app_client.post(
        "/v1/webhooks", json={**HOOK, "events": ["response.deleted"]}, headers=tenant.headers
    )
    assert unknown.status_code == 422 and _fields(unknown)[0].startswith("events"), unknown.text
    empty = await app_client.post(
        "/v1/webhooks", json={**HOOK, "events": []}, headers=tenant.headers
    )
    assert empty.status_code == 422 and _fields(empty) == ["events"], empty.text
    extra = await app_client.post(
        "/v1/webhooks", json={**HOOK, "secret": "mine"}, headers=tenant.headers
    )
    assert extra.status_code == 422 and _fields(extra) == ["secret"]
    created = await _create(app_client, tenant)
    patched = await app_client.patch(
        f"/v1/webhooks/{created['id']}", json={"events": ["nope"]}, headers=tenant.headers
    )
    assert patched.status_code == 422 and _fields(patched)[0].startswith("events")


@pytest.fixture(scope="module")
async def strict_client(settings):  # type: ignore[no-untyped-def]
    """The app as deployed: webhook targets on private addresses are refused."""
    from litestar.testing import AsyncTestClient

    from api.app import create_app

    app = create_app(msgspec.structs.replace(settings, webhook_allow_private=False))
    async with AsyncTestClient(app=app, base_url="http://nps.test") as client:
        yield client


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "https://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
async def test_private_targets_are_refused_unless_allowed(strict_client, tenant, url) -> None:
    r = await strict_client.post("/v1/webhooks", json={**HOOK, "url": url}, headers=tenant.headers)
    assert r.status_code == 422 and _fields(r) == ["url"], r.text


async def test_patching_to_a_private_target_is_refused(strict_client, app_client, tenant) -> None:
    created = await _create(app_client, tenant)
    r = await strict_client.patch(
        f"/v1/webhooks/{created['id']}",
        json={"url": "http://127.0.0.1/x"},
        headers=tenant.headers,
    )
    assert r.status_code == 422 and _fields(r) == ["url"]


async def test_another_tenants_webhook_answers_like_an_unknown_one(
    app_client, admin_headers, tenant
) -> None:
    mine = await _create(app_client, tenant)
    queued = await app_client.post(f"/v1/webhooks/{mine['id']}/test", headers=tenant.headers)
    delivery = queued.json()["delivery_id"]
    other = await make_tenant(app_client, admin_headers)
    assert (await app_client.get("/v1/webhooks", headers=other.headers)).json()["data"] == []
    answers = []
    for hook_id in (mine["id"], str(uuid.uuid4())):
        base = f"/v1/webhooks/{hook_id}"
        calls = [
            app_client.get(base, headers=other.headers),
            app_client.patch(base, json={"enabled": False}, headers=other.headers),
            app_client.post(f"{base}/rotate-secret", headers=other.headers),
            app_client.post(f"{base}/test", headers=other.headers),
            app_client.get(f"{base}/deliveries", headers=other.headers),
            app_client.post(f"{base}/deliveries/{delivery}/redeliver", headers=other.headers),
            app_client.delete(base, headers=other.headers),
        ]
        answers.append([(r.status_code, r.json()) for r in [await c for c in calls]])
    assert answers[0] == answers[1]
    assert {status for status, _ in answers[0]} == {404}
    unknown_delivery = await app_client.post(
        f"/v1/webhooks/{mine['id']}/deliveries/{uuid.uuid4()}/redeliver", headers=tenant.headers
    )
    assert unknown_delivery.status_code == 404
    theirs = await _create(app_client, other)
    through_own_hook = await app_client.post(
        f"/v1/webhooks/{theirs['id']}/deliveries/{delivery}/redeliver", headers=other.headers
    )
    assert through_own_hook.status_code == 404
    own_list = await app_client.get(
        f"/v1/webhooks/{theirs['id']}/deliveries", headers=other.headers
    )
    assert own_list.json()["data"] == []
    still = await app_client.get(f"/v1/webhooks/{mine['id']}", headers=tenant.headers)
    assert still.status_code == 200 and still.json()["enabled"] is True


async def test_webhooks_need_the_manage_scope(app_client, admin_headers) -> None:
    reader = await make_tenant(app_client, admin_headers, scopes=["results:read"])
    assert (await app_client.get("/v1/webhooks", headers=reader.headers)).status_code == 403
    r = await app_client.post("/v1/webhooks", json=HOOK, headers=reader.headers)
    assert r.status_code == 403


def test_webhook_settings_read_booleans_from_the_environment() -> None:
    assert load_settings({}).webhook_allow_private is False
    assert load_settings({}).webhook_relay is True
    on = load_settings({"NPS_WEBHOOK_ALLOW_PRIVATE": "1", "NPS_WEBHOOK_RELAY": "0"})
    assert on.webhook_allow_private is True and on.webhook_relay is False
    with pytest.raises(ValueError):
        load_settings({"NPS_WEBHOOK_ALLOW_PRIVATE": "maybe"})
