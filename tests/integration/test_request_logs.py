"""Honest logs: every answer logged once with its real status, tenant, request id and route
template; every answer carries x-request-id; a 500 is one line with an error id."""

from __future__ import annotations

import json

import pytest
from litestar import get
from litestar.testing import AsyncTestClient

from api.app import create_app
from tests.conftest import make_tenant


def access_lines(out: str) -> list[dict]:
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    return [x for x in lines if x.get("event") == "request"]


async def test_rejected_calls_are_logged_with_their_real_status_and_carry_a_request_id(
    app_client, admin_headers, capfd: pytest.CaptureFixture[str]
) -> None:
    reader = await make_tenant(app_client, admin_headers, scopes=["results:read"])
    capfd.readouterr()
    calls = [
        ("GET", "/v1/surveys", {"Authorization": "Bearer nps_wrong"}, 401),
        ("GET", "/v1/surveys", {}, 401),
        ("POST", "/v1/surveys", reader.headers, 403),
        ("PUT", "/v1/surveys", reader.headers, 405),
        ("TRACE", "/v1/nps", reader.headers, 405),
        ("GET", "/v1/no-such-thing", reader.headers, 404),
    ]
    for i, (method, path, headers, status) in enumerate(calls):
        r = await app_client.request(
            method, path, headers=headers | {"X-Request-Id": f"req-{i}"}, json={"name": "x"}
        )
        assert r.status_code == status, (method, path, r.text)
        assert r.headers["x-request-id"] == f"req-{i}"
        assert r.headers["content-type"] == "application/problem+json"
    lines = access_lines(capfd.readouterr().out)
    assert [(x["request_id"], x["status"]) for x in lines] == [
        (f"req-{i}", c[3]) for i, c in enumerate(calls)
    ]
    assert [x["tenant_id"] for x in lines] == [None, None, reader.id, None, None, None]
    assert [x["route"] for x in lines][:3] == ["/v1/surveys"] * 3
    assert lines[5]["route"] is None  # no route matched: the raw path is not logged
    assert all(x["level"] == "info" for x in lines)


async def test_every_405_names_the_allowed_methods(app_client, tenant) -> None:
    for method, path, allowed in [
        ("PUT", "/v1/surveys", {"GET", "POST"}),
        ("TRACE", "/v1/nps", {"GET"}),
        ("DELETE", "/v1/nps", {"GET"}),
        ("POST", "/v1/audit", {"GET"}),
    ]:
        r = await app_client.request(method, path, headers=tenant.headers)
        assert r.status_code == 405
        assert {m.strip() for m in r.headers["allow"].split(",")} - {"HEAD", "OPTIONS"} == allowed


async def test_log_names_the_route_template_never_ids_or_query_values(
    app_client, tenant, survey_id, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    customer = "cus_planted/7731"
    r = await app_client.post(
        "/v1/responses",
        json={"survey_id": survey_id, "score": 3, "customer_id": customer},
        headers=tenant.headers,
    )
    assert r.status_code == 201
    assert (await app_client.get(f"/v1/customers/{customer}", headers=tenant.headers)).is_success
    r = await app_client.get(
        f"/v1/responses/{r.json()['id']}?segment=team:cus_planted", headers=tenant.headers
    )
    assert r.status_code == 200
    out = capfd.readouterr().out
    routes = [x["route"] for x in access_lines(out)]
    assert routes == [
        "/v1/responses",
        "/v1/customers/{customer_id}",
        "/v1/responses/{response_id}",
    ]
    assert "cus_planted" not in out and r.json()["id"] not in out


@get("/v1/test-boom", include_in_schema=False, sync_to_thread=False)
def boom() -> None:
    raise RuntimeError("the secret value cus_in_an_error_message")


async def test_a_500_is_one_line_with_an_error_id_and_no_traceback(
    settings, capfd: pytest.CaptureFixture[str]
) -> None:
    from api.auth import PUBLIC_PATHS

    PUBLIC_PATHS.add("/v1/test-boom")  # read when the app is built; no key needed here
    try:
        app = create_app(settings, extra_handlers=[boom])
    finally:
        PUBLIC_PATHS.discard("/v1/test-boom")
    async with AsyncTestClient(app=app, base_url="http://nps.test") as client:
        capfd.readouterr()
        r = await client.get("/v1/test-boom", headers={"X-Request-Id": "req-boom"})
        out = capfd.readouterr().out
    assert r.status_code == 500 and r.headers["x-request-id"] == "req-boom"
    body = r.json()
    assert body["type"] == "urn:nps-api:problem:internal-error"
    assert body["error_id"] in body["detail"]
    assert len(out.splitlines()) == 1, out
    line = json.loads(out)
    assert line["event"] == "request" and line["level"] == "error" and line["status"] == 500
    assert line["error_id"] == body["error_id"] and line["error"] == "RuntimeError"
    assert line["route"] == "/v1/test-boom" and "test_request_logs.py" in line["where"]
    assert "cus_in_an_error_message" not in out and "Traceback" not in out


async def test_a_request_id_that_is_not_visible_ascii_is_replaced(app_client) -> None:
    kept = await app_client.get("/health/live", headers={"X-Request-Id": "a" * 80})
    assert kept.headers["x-request-id"] == "a" * 64
    replaced = await app_client.get("/health/live", headers={"X-Request-Id": "two words"})
    assert len(replaced.headers["x-request-id"]) == 16
