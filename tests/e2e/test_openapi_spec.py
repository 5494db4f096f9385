"""The committed OpenAPI spec is the app's, and documents every operation fully."""

from __future__ import annotations

import json
from pathlib import Path

from api.app import openapi_document

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def _generated() -> dict:
    return json.loads(openapi_document())


def test_committed_spec_is_not_stale() -> None:
    committed = json.loads(SPEC.read_text())
    assert committed == _generated(), (
        "openapi/openapi.json is stale: run `make openapi` and commit it"
    )


def test_every_operation_has_id_tag_summary_and_request_example() -> None:
    spec = _generated()
    assert spec["openapi"].startswith("3.1")
    seen_ids = set()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            assert op.get("operationId"), where
            assert op["operationId"] not in seen_ids, where
            seen_ids.add(op["operationId"])
            assert op.get("tags"), where
            assert op.get("summary"), where
            body = op.get("requestBody")
            if body:
                assert body["content"]["application/json"].get("examples"), where
            for param in op.get("parameters", []):
                assert param.get("examples"), f"{where} {param['name']}"


def _operations(spec: dict) -> list[tuple[str, dict]]:
    return [
        (f"{method.upper()} {path}", op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
    ]


def test_errors_are_documented_as_problem_details() -> None:
    spec = _generated()
    op = spec["paths"]["/v1/responses"]["post"]
    for status in ("400", "401", "403", "404", "409", "413", "422"):
        assert "application/problem+json" in op["responses"][status]["content"], status
    problem = spec["components"]["schemas"]["ProblemDetails"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    field = spec["components"]["schemas"]["FieldProblem"]
    assert set(field["required"]) == {"field", "message"}


def test_no_operation_documents_an_error_body_the_service_never_sends() -> None:
    """Every 4xx is problem+json with an example (the framework's 400 body is gone)."""
    for where, op in _operations(_generated()):
        for status, response in op["responses"].items():
            if not status.startswith("4"):
                continue
            content = response["content"]
            assert list(content) == ["application/problem+json"], f"{where} {status}"
            media = content["application/problem+json"]
            assert media["schema"] == {"$ref": "#/components/schemas/ProblemDetails"}
            assert media["examples"]["example"]["value"]["status"] == int(status), where


def test_generic_problems_follow_each_operations_inputs() -> None:
    for where, op in _operations(_generated()):
        documented = set(op["responses"])
        checked = [p for p in op.get("parameters", []) if p["name"] != "If-None-Match"]
        if "requestBody" in op:
            assert {"400", "413", "422"} <= documented, where
        elif not checked:
            assert "422" not in documented, where
        if checked:
            assert "422" in documented, where
        assert ("401" in documented) == bool(op["security"]), where
        if op["operationId"] not in ("getReadiness", "getMetrics"):  # their own 503 rules
            assert ("503" in documented) == bool(op["security"]), where


def test_every_response_documents_its_headers() -> None:
    spec = _generated()
    headers = spec["components"]["headers"]
    for where, op in _operations(spec):
        idempotent = any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
        for status, response in op["responses"].items():
            names = set(response["headers"])
            assert "X-Request-Id" in names, f"{where} {status}"
            assert ("Idempotent-Replayed" in names) == (idempotent and status < "300"), where
            if status == "401":
                assert "WWW-Authenticate" in names, where
            if status == "503":
                assert "Retry-After" in names, where
            for name, ref in response["headers"].items():
                assert ref == {"$ref": f"#/components/headers/{name}"}, where
                assert headers[name]["examples"]["example"]["value"] is not None


def test_closed_values_are_enums_and_dates_have_a_format() -> None:
    spec = _generated()
    schemas = spec["components"]["schemas"]
    target_met = schemas["NpsResult"]["properties"]["target_met"]
    assert target_met["enum"] == ["yes", "no", "uncertain", None]
    assert schemas["VsRest"]["properties"]["flag"]["enum"] == ["below", "above", "in_line"]
    assert schemas["Health"]["properties"]["status"]["enum"] == ["ok", "degraded", "unavailable"]
    assert schemas["FlaggedSegmentOut"]["properties"]["flag"]["enum"] == ["below", "above"]
    assert schemas["CompareResult"]["properties"]["method"]["const"] == "adjusted-wald"
    followup_status = schemas["CustomerChangeOut"]["properties"]["followup_status"]["oneOf"]
    assert {"$ref": "#/components/schemas/Status"} in followup_status
    item_error = schemas["BatchItemResult"]["properties"]["error"]["oneOf"]
    assert {"$ref": "#/components/schemas/ProblemDetails"} in item_error
    dates = {"from", "to", "a_from", "a_to", "b_from", "b_to"}
    for where, op in _operations(spec):
        for param in op.get("parameters", []):
            schema = param["schema"]
            assert {"type": "null"} not in schema.get("oneOf", []), f"{where} {param['name']}"
            if param["name"] in dates:
                assert schema["format"] == "date", f"{where} {param['name']}"
            if param["name"] == "customer_id":
                assert "format" not in schema and schema["maxLength"] == 255


def test_webhook_examples_are_whole_payloads_with_their_nulls() -> None:
    spec = _generated()
    case = spec["webhooks"]["followup.created"]["post"]["requestBody"]["content"]
    data = case["application/json"]["examples"]["example"]["value"]["data"]
    assert set(data) == set(spec["components"]["schemas"]["CaseOut"]["required"])
    assert data["closed_at"] is None and data["status"] == "open"
    assert spec["webhooks"]["response.created"]["post"]["security"] == []


def test_every_operation_tag_is_declared_with_a_description() -> None:
    spec = _generated()
    declared = {t["name"]: t.get("description") for t in spec["tags"]}
    assert all(declared.values())
    for item in [*spec["paths"].values(), *spec["webhooks"].values()]:
        for op in item.values():
            assert set(op["tags"]) <= set(declared), op["operationId"]


def test_every_schema_is_titled_by_its_own_unique_name() -> None:
    """Generators name types by title: two schemas titled alike make one of them vanish."""
    schemas = _generated()["components"]["schemas"]
    titled = {name: s["title"] for name, s in schemas.items() if "title" in s}
    assert all(name == title for name, title in titled.items()), titled
    assert "Trend" in schemas and "CustomersTrend" in schemas
