"""Odd but possible input is answered with a 4xx problem naming the field, never a 500."""

from __future__ import annotations

import re
import uuid

import pytest

from api.app import create_app
from infra.settings import Settings
from tests.conftest import make_tenant, nps_total

PROBLEM = "application/problem+json"
_ANY_ID = re.compile(r"\{[a-z_]+(?::[a-z]+)?\}")


def _body_routes() -> list[tuple[str, str]]:
    """(method, path) of every route that reads a JSON body, ids filled with new UUIDs."""
    app = create_app(Settings())
    routes = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if "data" in handler.parsed_fn_signature.parameters:
                path = _ANY_ID.sub(lambda _: str(uuid.uuid4()), route.path)
                routes += [(method, path) for method in sorted(handler.http_methods)]
    return sorted(routes)


BODY_ROUTES = _body_routes()


def _headers(path: str, tenant, admin_headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return admin_headers if path.startswith("/v1/admin") else tenant.headers


def test_every_body_route_is_covered() -> None:
    assert len(BODY_ROUTES) >= 15
    assert ("POST", "/v1/responses") in BODY_ROUTES


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
async def test_unknown_field_with_a_newline_in_its_name_is_named(
    app_client, tenant, admin_headers, method, path
) -> None:
    r = await app_client.request(
        method,
        path,
        content=b'{"a\\nb": 1, "x`y": 2}',
        headers={**_headers(path, tenant, admin_headers), "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert [e["field"] for e in r.json()["errors"]] == ["a\nb"], r.text


NUL_BODIES = [
    ("/v1/surveys", {"name": "a\x00b", "kind": "relational"}, "name"),
    ("/v1/responses", {"score": 5, "comment": "a\x00b"}, "comment"),
    ("/v1/responses", {"score": 5, "customer_id": "a\x00b"}, "customer_id"),
    ("/v1/responses", {"score": 5, "segments": {"team": "a\x00b"}}, "segments"),
    ("/v1/responses", {"score": 5, "locale": "de\x00DE"}, "locale"),
    ("/v1/responses/batch", {"responses": [{"score": 5, "comment": "\x00"}]}, None),
    ("/v1/changes", {"title": "a\x00b", "effective_on": "2026-01-01"}, "title"),
    ("/v1/changes", {"title": "t", "effective_on": "2026-01-01", "segment": "a:\x00"}, "segment"),
    ("/v1/webhooks", {"url": "https://e.test/\x00", "events": ["webhook.test"]}, "url"),
    ("/v1/admin/tenants", {"name": "a\x00b"}, "name"),
]


@pytest.mark.parametrize(("path", "body", "field"), NUL_BODIES)
async def test_a_nul_character_in_a_body_string_is_a_422_naming_the_field(
    app_client, tenant, admin_headers, survey_id, path, body, field
) -> None:
    if "score" in body:
        body = {**body, "survey_id": survey_id}
    if "responses" in body:
        body = {"responses": [{**body["responses"][0], "survey_id": survey_id}]}
    r = await app_client.post(path, json=body, headers=_headers(path, tenant, admin_headers))
    if field is None:  # a batch answers per item
        assert r.status_code == 207, r.text
        assert r.json()["results"][0]["error"]["errors"][0]["field"] == "responses[0].comment"
        return
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    [error] = r.json()["errors"]
    assert error["field"] == field
    # a segment filter's pattern says more than "no NUL"
    assert error["message"] == (
        "must be 'dimension:value' with a value of 1 to 100 characters"
        if field == "segment"
        else "must not contain the NUL character (U+0000)"
    )


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/followups?owner=a%00b", "owner"),
        ("/v1/responses?segment=team:a%00b", "segment"),
        ("/v1/followups?segment=team:%00", "segment"),
        ("/v1/nps/breakdown?dimension=te%00am", "dimension"),
        ("/v1/nps/compare?a_segment=team:%00&b_segment=team:b", "a_segment"),
        ("/v1/responses?cursor=a%00b", "cursor"),
        ("/v1/responses?from=2026-01-01%00", "from"),
        ("/v1/customers?updated_since=2026-01-01T00:00:00Z%00", "updated_since"),
    ],
)
async def test_a_nul_character_in_a_query_value_is_a_422_naming_it(
    app_client, tenant, path, field
) -> None:
    r = await app_client.get(path, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert [e["field"] for e in r.json()["errors"]] == [field]


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_a_customer_id_no_answer_can_carry_answers_like_a_missing_one(
    app_client, tenant, method
) -> None:
    missing = await app_client.request(method, "/v1/customers/nobody", headers=tenant.headers)
    for odd in ("a%00b", "x" * 256):
        r = await app_client.request(method, f"/v1/customers/{odd}", headers=tenant.headers)
        assert (r.status_code, r.json()) == (404, missing.json()), r.text


@pytest.mark.parametrize("path", ["/v1/responses", "/v1/responses/batch", "/v1/surveys"])
async def test_a_body_that_is_not_utf8_is_a_400_and_stores_nothing(
    app_client, tenant, survey_id, path
) -> None:
    item = b'{"survey_id": "%s", "score": 9, "comment": "caf\xe9"}' % survey_id.encode()
    body = {"/v1/responses/batch": b'{"responses": [%s]}' % item}.get(path, item)
    if path == "/v1/surveys":
        body = b'{"name": "caf\xe9", "kind": "relational"}'
    r = await app_client.post(
        path, content=body, headers={**tenant.headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == PROBLEM
    assert "UTF-8" in r.json()["detail"]
    assert await nps_total(app_client, tenant) == 0


@pytest.mark.parametrize("margin", ["5e-324", "1e-160", "0.09", "0", "nan"])
async def test_a_margin_below_a_tenth_of_a_point_is_a_422(app_client, tenant, margin) -> None:
    r = await app_client.get(f"/v1/nps/sample-size?margin={margin}", headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["margin"]
    r = await app_client.get("/v1/nps/sample-size?margin=0.1", headers=tenant.headers)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("min_effect", ["5e-324", "1e-160", "0.09"])
async def test_a_min_effect_below_a_tenth_of_a_point_is_a_422(
    app_client, tenant, min_effect
) -> None:
    r = await app_client.post(
        "/v1/changes", json={"title": "t", "effective_on": "2026-01-01"}, headers=tenant.headers
    )
    change = r.json()["id"]
    path = f"/v1/changes/{change}/impact"
    r = await app_client.get(f"{path}?min_effect={min_effect}", headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["min_effect"]
    r = await app_client.get(f"{path}?min_effect=0.1", headers=tenant.headers)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Pacific/Kiritimati"])
async def test_answers_dated_before_2000_are_a_422(app_client, admin_headers, zone) -> None:
    tenant = await make_tenant(app_client, admin_headers, timezone=zone)
    r = await app_client.post(
        "/v1/surveys", json={"name": "s", "kind": "relational"}, headers=tenant.headers
    )
    survey = r.json()["id"]
    for at in ("0001-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "1999-12-31T23:59:59-14:00"):
        body = {"survey_id": survey, "score": 3, "answered_at": at}
        if at.endswith("-14:00"):  # 2000-01-01T13:59:59Z: after the bound, accepted
            r = await app_client.post("/v1/responses", json=body, headers=tenant.headers)
            assert r.status_code == 201, r.text
            continue
        r = await app_client.post("/v1/responses", json=body, headers=tenant.headers)
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["answered_at"]
    body = {"survey_id": survey, "score": 3, "answered_at": "2000-01-01T00:00:00Z"}
    r = await app_client.post("/v1/responses", json=body, headers=tenant.headers)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/v1/nps?from=0001-01-01&to=0001-01-02", "from"),
        ("/v1/nps?to=0001-01-02", "to"),
        ("/v1/nps?from=9999-12-30&to=9999-12-31", "from"),
        ("/v1/nps/trend?from=1999-12-31", "from"),
        ("/v1/responses?to=9999-12-31", "to"),
        ("/v1/followups/stats?from=0001-01-01", "from"),
        (
            "/v1/nps/compare?a_from=0001-01-01&a_to=2026-01-01&b_from=2026-01-01&b_to=2026-01-02",
            "a_from",
        ),
    ],
)
async def test_dates_outside_2000_to_2999_are_a_422_in_any_zone(
    app_client, admin_headers, query, field
) -> None:
    tenant = await make_tenant(app_client, admin_headers, timezone="Pacific/Kiritimati")
    r = await app_client.get(query, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
async def test_a_body_route_refuses_anything_but_json_with_415(
    app_client, tenant, admin_headers, survey_id, method, path, content_type
) -> None:
    headers = _headers(path, tenant, admin_headers)
    if content_type is not None:
        headers = {**headers, "Content-Type": content_type}
    body = b'{"survey_id": "%s", "score": 9}' % survey_id.encode()
    r = await app_client.request(method, path, content=body, headers=headers)
    assert r.status_code == 415, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "urn:nps-api:problem:unsupported-media-type"
    assert await nps_total(app_client, tenant) == 0


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", 'Application/JSON;charset="UTF-8"'],
)
async def test_json_with_or_without_a_utf8_charset_is_read(
    app_client, tenant, survey_id, content_type
) -> None:
    body = b'{"survey_id": "%s", "score": 9}' % survey_id.encode()
    r = await app_client.post(
        "/v1/responses", content=body, headers={**tenant.headers, "Content-Type": content_type}
    )
    assert r.status_code == 201, r.text


async def test_a_route_without_a_body_needs_no_content_type(app_client, tenant, survey_id) -> None:
    r = await app_client.post(f"/v1/surveys/{survey_id}/archive", headers=tenant.headers)
    assert r.status_code == 200, r.text


async def test_a_query_of_ten_thousand_parameters_is_a_414_problem(app_client, tenant) -> None:
    query = "&".join(f"segment=team:{i}" for i in range(10_000))
    r = await app_client.get(f"/v1/nps?{query[:60_000]}", headers=tenant.headers)
    assert r.status_code == 414, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["status"] == 414
    r = await app_client.get(f"/v1/nps?{query[:6000]}", headers=tenant.headers)
    assert r.status_code == 422, r.text  # within the limit: read, then at most 10 filters


@pytest.mark.parametrize(
    "extra",
    [
        {"X-Long": "v" * 9000},
        {f"X-H{i}": "v" for i in range(70)},
        {f"X-H{i}": "v" * 7000 for i in range(5)},
    ],
    ids=["one-long-header", "many-headers", "large-total"],
)
async def test_over_long_headers_are_a_431_problem(app_client, tenant, extra) -> None:
    r = await app_client.get("/v1/nps", headers={**tenant.headers, **extra})
    assert r.status_code == 431, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "urn:nps-api:problem:request-header-fields-too-large"
