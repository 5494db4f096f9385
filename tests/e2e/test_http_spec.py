"""The spec states the HTTP conventions the service follows (tests/integration checks them live)."""

from __future__ import annotations

import json

from api.app import openapi_document


def _operations() -> list[tuple[str, str, dict]]:
    spec = json.loads(openapi_document())
    return [(m.upper(), p, op) for p, item in spec["paths"].items() for m, op in item.items()]


def _params(op: dict) -> set[str]:
    return {p["name"] for p in op.get("parameters", [])}


def test_every_list_pages_with_limit_and_cursor() -> None:
    spec = json.loads(openapi_document())
    lists = 0
    for method, path, op in _operations():
        ok = op["responses"].get("200", {}).get("content", {}).get("application/json")
        if method != "GET" or ok is None or "$ref" not in ok["schema"]:
            continue
        schema = spec["components"]["schemas"][ok["schema"]["$ref"].split("/")[-1]]
        data = schema.get("properties", {}).get("data", {})
        if data.get("type") != "array":
            continue
        lists += 1
        assert "next_cursor" in schema["properties"], path
        assert {"limit", "cursor"} <= _params(op), path
    assert lists >= 10  # tenants, surveys, responses, customers, follow-ups, webhooks,
    # deliveries, changes, targets, audit


def test_every_json_get_documents_its_etag_and_304() -> None:
    for method, path, op in _operations():
        ok = op["responses"].get("200", {})
        if method != "GET" or "application/json" not in ok.get("content", {}):
            continue
        assert {"ETag", "Cache-Control"} <= set(ok["headers"]), path
        assert "If-None-Match" in _params(op), path
        assert set(op["responses"]["304"]["headers"]) == {"ETag", "Cache-Control", "X-Request-Id"}


def test_creations_document_their_location() -> None:
    located = {
        p
        for m, p, op in _operations()
        if "Location" in op["responses"].get("201", {}).get("headers", {})
    }
    assert located == {
        "/v1/surveys",
        "/v1/changes",
        "/v1/webhooks",
        "/v1/responses",
        "/v1/admin/tenants",
    }


def test_the_export_documents_both_formats() -> None:
    [op] = [op for _, p, op in _operations() if p == "/v1/responses/export"]
    assert set(op["responses"]["200"]["content"]) == {"text/csv", "application/x-ndjson"}
