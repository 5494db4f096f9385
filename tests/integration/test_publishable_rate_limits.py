"""A publishable key is public: besides its key and tenant quotas, each client address
gets a quota of its own, so one visitor cannot use up a website's key."""

from __future__ import annotations

import secrets

from api.app import create_app
from tests.conftest import make_tenant
from tests.integration.test_rate_limits import FakeClock, caller, limited


def _address() -> str:
    return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"


async def test_each_client_address_has_its_own_quota_per_publishable_key(
    settings, admin_headers
) -> None:
    clock = FakeClock()
    app = create_app(
        limited(settings, rate_limit_per_key=100, rate_limit_per_address=2), rate_clock=clock
    )
    visitor, other = _address(), _address()
    async with caller(app, {"X-Forwarded-For": visitor}) as client:
        tenant = await make_tenant(client, admin_headers)
        survey = await client.post(
            "/v1/surveys", json={"name": "S", "kind": "relational"}, headers=tenant.headers
        )
        created = await client.post(
            "/v1/keys",
            json={
                "name": "site",
                "kind": "publishable",
                "surveys": [{"survey_id": survey.json()["id"]}],
                "origins": ["https://shop.example"],
            },
            headers=tenant.headers,
        )
        public = {"Authorization": f"Bearer {created.json()['key']}"}
        answer = {"survey_id": survey.json()["id"], "score": 8}
        seen = [await client.post("/v1/responses", json=answer, headers=public) for _ in range(3)]
        assert [r.status_code for r in seen] == [201, 201, 429]
        assert seen[0].headers["RateLimit-Policy"].endswith('"address";q=2;w=60')
        assert seen[2].json()["violated_policies"] == ["address"]
        assert "client address" in seen[2].json()["detail"]
        from_elsewhere = await client.post(
            "/v1/responses", json=answer, headers={**public, "X-Forwarded-For": other}
        )
        assert from_elsewhere.status_code == 201
        assert (await client.get("/v1/surveys", headers=tenant.headers)).status_code == 200
        listed = await client.get("/v1/responses", headers=tenant.headers)
        assert len(listed.json()["data"]) == 3  # the refused answer was not stored
        clock.advance(30)  # one unit back every 60 s / 2
        assert (await client.post("/v1/responses", json=answer, headers=public)).status_code == 201
