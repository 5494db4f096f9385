"""Rate limits on real Redis: 429 with its headers, batch cost, operator overrides, two
app instances sharing one limit, failed-authentication throttling.

The limiter runs on an injected clock (advanced by hand), so no assertion depends on how
fast the machine is; each test calls from its own address (X-Forwarded-For, one trusted
proxy), since every test session on a shared Redis would otherwise share "testclient".
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from tests.conftest import TenantCtx, make_tenant


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def limited(settings: Any, **overrides: Any) -> Any:
    values = {
        "rate_limit_per_key": 3,
        "rate_limit_per_tenant": 100,
        "rate_limit_window_s": 60,
        "auth_failure_limit": 3,
        "auth_failure_window_s": 60,
        "trusted_proxy_hops": 1,
        **overrides,
    }
    return msgspec.structs.replace(settings, **values)


@contextlib.asynccontextmanager
async def caller(app: Any, headers: dict[str, str]) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=app, base_url="http://nps.test") as client:
        client.headers.update(headers)
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def address() -> str:
    """An address of the documentation range, new for each test."""
    return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"


@pytest.fixture
async def client(settings, clock, address) -> AsyncIterator[AsyncTestClient]:  # type: ignore[no-untyped-def]
    app = create_app(limited(settings), rate_clock=clock)
    async with caller(app, {"X-Forwarded-For": address}) as c:
        yield c


async def _get(client: AsyncTestClient, tenant: TenantCtx) -> Any:
    return await client.get("/v1/surveys", headers=tenant.headers)


async def test_requests_past_the_key_limit_get_429_with_retry_after_and_headers(
    client, admin_headers, clock
) -> None:
    tenant = await make_tenant(client, admin_headers)
    seen = [await _get(client, tenant) for _ in range(3)]
    assert [r.status_code for r in seen] == [200, 200, 200]
    assert [r.headers["RateLimit"].split(",")[0] for r in seen] == [
        '"key";r=2;t=20',
        '"key";r=1;t=40',
        '"key";r=0;t=60',
    ]
    assert seen[0].headers["RateLimit-Policy"] == '"key";q=3;w=60, "tenant";q=100;w=60'
    refused = await _get(client, tenant)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["Retry-After"] == "20"  # one unit comes back every 60 s / 3
    assert refused.headers["RateLimit"] == '"key";r=0;t=20, "tenant";r=97;t=2'
    assert refused.headers["RateLimit-Policy"] == '"key";q=3;w=60, "tenant";q=100;w=60'
    body = refused.json()
    assert body["type"] == "urn:nps-api:problem:too-many-requests"
    assert body["status"] == 429 and body["violated_policies"] == ["key"]
    assert "retry after 20 s" in body["detail"]
    clock.advance(15)
    assert (await _get(client, tenant)).headers["Retry-After"] == "5"
    clock.advance(5)
    assert (await _get(client, tenant)).status_code == 200


async def test_the_tenant_limit_counts_all_its_keys_together(
    settings, clock, address, admin_headers
) -> None:
    app = create_app(limited(settings, rate_limit_per_tenant=4), rate_clock=clock)
    async with caller(app, {"X-Forwarded-For": address}) as client:
        tenant = await make_tenant(client, admin_headers)
        r = await client.post(
            f"/v1/admin/tenants/{tenant.id}/keys",
            json={"name": "second", "scopes": ["manage"]},
            headers=admin_headers,
        )
        second = TenantCtx(id=tenant.id, key=r.json()["key"], timezone="UTC")
        assert [(await _get(client, tenant)).status_code for _ in range(3)] == [200] * 3
        assert (await _get(client, second)).status_code == 200
        refused = await _get(client, second)
        assert refused.status_code == 429
        assert refused.json()["violated_policies"] == ["tenant"]
        assert refused.headers["RateLimit"] == '"key";r=2;t=20, "tenant";r=0;t=15'
        other = await make_tenant(client, admin_headers)  # other tenants are not affected
        assert (await _get(client, other)).status_code == 200


async def _survey(client: AsyncTestClient, tenant: TenantCtx) -> str:
    r = await client.post(
        "/v1/surveys", json={"name": "S", "kind": "relational"}, headers=tenant.headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_a_batch_costs_its_number_of_answers(settings, clock, address, admin_headers) -> None:
    app = create_app(limited(settings, rate_limit_per_key=10), rate_clock=clock)
    async with caller(app, {"X-Forwarded-For": address}) as client:
        tenant = await make_tenant(client, admin_headers)
        sid = await _survey(client, tenant)  # 1 unit
        items = [{"survey_id": sid, "score": s} for s in (10, 9, 3, 0)]
        r = await client.post(
            "/v1/responses/batch", json={"responses": items}, headers=tenant.headers
        )
        assert r.status_code == 200
        assert r.headers["RateLimit"].startswith('"key";r=5;t=30')
        six = [{"survey_id": sid, "score": 7}] * 6
        refused = await client.post(
            "/v1/responses/batch", json={"responses": six}, headers=tenant.headers
        )
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "6"  # one answer comes back every 6 s
        clock.advance(6)
        r = await client.post(
            "/v1/responses/batch", json={"responses": six}, headers=tenant.headers
        )
        assert r.status_code == 200 and r.headers["RateLimit"].startswith('"key";r=0;')
        clock.advance(60)
        total = (await client.get("/v1/nps", headers=tenant.headers)).json()["total"]
        assert total == 10  # the refused batch stored nothing


async def test_a_batch_larger_than_the_whole_quota_is_refused_naming_the_field(
    client, admin_headers
) -> None:
    tenant = await make_tenant(client, admin_headers)
    items = [{"survey_id": "00000000-0000-0000-0000-000000000000", "score": 9}] * 4
    r = await client.post("/v1/responses/batch", json={"responses": items}, headers=tenant.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "responses"
    assert "at most 3" in r.json()["errors"][0]["message"]
    assert r.headers["RateLimit"].startswith('"key";r=3, ')  # nothing was spent


async def test_a_batch_whose_body_is_refused_costs_one_unit(client, admin_headers) -> None:
    tenant = await make_tenant(client, admin_headers)
    headers = {**tenant.headers, "Content-Type": "application/json"}
    r = await client.post("/v1/responses/batch", content=b"{not json", headers=headers)
    assert r.status_code == 400
    assert r.headers["RateLimit"].startswith('"key";r=2;')


async def test_the_operator_changes_a_tenants_limits_at_once(client, admin_headers) -> None:
    tenant = await make_tenant(client, admin_headers)
    assert [(await _get(client, tenant)).status_code for _ in range(4)][-1] == 429
    url = f"/v1/admin/tenants/{tenant.id}"
    r = await client.patch(url, json={"rate_limits": {"per_key": 50}}, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.json()["rate_limits"] == {
        "per_key": 50,
        "per_tenant": 100,
        "window_s": 60,
        "custom": True,
    }
    ok = await _get(client, tenant)  # the key was cached: its new limit applies all the same
    assert ok.status_code == 200 and ok.headers["RateLimit-Policy"].startswith('"key";q=50;w=60')
    r = await client.patch(url, json={"rate_limits": {"per_key": None}}, headers=admin_headers)
    assert r.json()["rate_limits"]["custom"] is False
    assert (await client.get(url, headers=admin_headers)).json()["rate_limits"]["per_key"] == 3


async def test_limit_changes_are_checked_and_reach_only_known_tenants(
    client, admin_headers
) -> None:
    tenant = await make_tenant(client, admin_headers)
    url = f"/v1/admin/tenants/{tenant.id}"
    bad = await client.patch(url, json={"rate_limits": {"per_key": 0}}, headers=admin_headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "rate_limits.per_key"
    odd = await client.patch(url, json={"rate_limits": {"burst": 5}}, headers=admin_headers)
    assert odd.status_code == 422
    missing = await client.patch(
        "/v1/admin/tenants/00000000-0000-0000-0000-000000000000",
        json={"rate_limits": {"per_key": 5}},
        headers=admin_headers,
    )
    assert missing.status_code == 404
    r = await client.get(url, headers=admin_headers)
    assert r.json()["rate_limits"]["custom"] is False


async def test_two_app_instances_share_one_limit(settings, clock, address, admin_headers) -> None:
    config = limited(settings)
    headers = {"X-Forwarded-For": address}
    async with (
        caller(create_app(config, rate_clock=clock), headers) as a,
        caller(create_app(config, rate_clock=clock), headers) as b,
    ):
        tenant = await make_tenant(a, admin_headers)
        codes = [(await _get(c, tenant)).status_code for c in (a, b, a, b)]
        assert codes == [200, 200, 200, 429]
        r = await client_patch(a, tenant, admin_headers, per_key=5)
        assert r.status_code == 200
        for _ in range(50):  # b's cached key is dropped by the published change
            if (await _get(b, tenant)).status_code == 200:
                break
            clock.advance(0)
            await _pause()
        else:
            raise AssertionError("instance b never applied the new limit")


async def client_patch(
    client: AsyncTestClient, tenant: TenantCtx, headers: Any, **limits: int
) -> Any:
    return await client.patch(
        f"/v1/admin/tenants/{tenant.id}", json={"rate_limits": limits}, headers=headers
    )


async def _pause() -> None:
    await asyncio.sleep(0.05)


async def test_failed_authentications_are_throttled_per_address(
    client, admin_headers, clock
) -> None:
    tenant = await make_tenant(client, admin_headers)  # its key has not been used yet
    wrong = {"Authorization": "Bearer nps_not_a_key"}
    assert [(await client.get("/v1/nps", headers=wrong)).status_code for _ in range(2)] == [401] * 2
    assert (await client.get("/v1/nps")).status_code == 401  # no credentials count too
    refused = await _get(client, tenant)  # the right key, but after 3 failures
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "20"
    assert refused.headers["RateLimit-Policy"] == '"auth-failures";q=3;w=60'
    assert refused.json()["violated_policies"] == ["auth-failures"]
    admin = await client.get("/v1/admin/tenants", headers=admin_headers)
    assert admin.status_code == 429  # the admin token is a key check too
    elsewhere = await client.get(
        "/v1/surveys", headers={**tenant.headers, "X-Forwarded-For": "2001:db8::1:2:3"}
    )
    assert elsewhere.status_code == 200
    clock.advance(20)
    assert (await _get(client, tenant)).status_code == 200


async def test_a_wrong_admin_token_counts_as_a_failure(client, admin_headers) -> None:
    bad = {"Authorization": "Bearer wrong-token"}
    codes = [(await client.get("/v1/admin/tenants", headers=bad)).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


async def test_health_docs_and_admin_routes_are_not_limited(client, admin_headers) -> None:
    for _ in range(5):
        live = await client.get("/health/live")
        assert live.status_code == 200 and "RateLimit" not in live.headers
        admin = await client.get("/v1/admin/tenants", headers=admin_headers)
        assert admin.status_code == 200 and "RateLimit" not in admin.headers
    spec = await client.get("/docs/openapi.json")
    assert spec.status_code == 200 and "RateLimit" not in spec.headers


async def test_with_limits_turned_off_nothing_is_limited(settings, admin_headers) -> None:
    app = create_app(limited(settings, rate_limits=False))
    async with AsyncTestClient(app=app, base_url="http://nps.test") as client:
        tenant = await make_tenant(client, admin_headers)
        seen = [await _get(client, tenant) for _ in range(5)]
        assert [r.status_code for r in seen] == [200] * 5
        assert "RateLimit" not in seen[-1].headers


async def test_browser_tokens_spend_their_issuers_quota_under_the_tenants_limits(
    client, admin_headers
) -> None:
    tenant = await make_tenant(client, admin_headers)
    r = await client_patch(client, tenant, admin_headers, per_key=5)
    assert r.status_code == 200
    body = {"origins": [f"https://rl-{secrets.token_hex(4)}.example"]}  # no shared origin
    r = await client.post("/v1/tokens", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text
    browser = {"Authorization": f"Bearer {r.json()['token']}"}
    read = await client.get("/v1/nps", headers=browser)
    assert read.status_code == 200, read.text
    assert read.headers["RateLimit-Policy"].startswith('"key";q=5;w=60')
    assert read.headers["RateLimit"].startswith('"key";r=3;')  # the issuer spent one before
    codes = [(await client.get("/v1/nps", headers=browser)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
