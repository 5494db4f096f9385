"""Odd but possible input is answered with a 4xx problem naming the field, never a 500."""

from __future__ import annotations

import re
import uuid

import pytest

from api.app import create_app
from infra.settings import Settings

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
