"""The spec documents every webhook we send under the OpenAPI 3.1 `webhooks` object."""

from __future__ import annotations

import json

from api.app import openapi_document
from domain.webhooks import EventType


def test_every_event_type_is_documented_with_payload_schema_and_signature_headers() -> None:
    spec = json.loads(openapi_document())
    assert set(spec["webhooks"]) == {e.value for e in EventType}
    for name, item in spec["webhooks"].items():
        op = item["post"]
        assert op["operationId"] and op["summary"] and op["tags"] == ["webhooks"], name
        headers = {p["name"] for p in op["parameters"] if p["in"] == "header"}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}, name
        media = op["requestBody"]["content"]["application/json"]
        assert media["examples"]["example"]["value"]["type"] == name
        schema = spec["components"]["schemas"][media["schema"]["$ref"].rsplit("/", 1)[1]]
        assert schema["required"] == ["id", "type", "created_at", "tenant_id", "data"]
        assert schema["properties"]["type"]["const"] == name
