"""Request examples for the OpenAPI spec: a body example per operation, one per parameter."""

from __future__ import annotations

from typing import Any

from litestar.openapi.spec import Example, OpenAPI, Operation, Parameter, Reference

SURVEY_ID = "0b6f5c1e-3f0a-4a8e-9d49-1c2f8e6b7a10"
BODY_EXAMPLES: dict[str, dict[str, Any]] = {
    "createTenant": {"name": "Acme Inc.", "timezone": "Europe/Berlin"},
    "createApiKey": {"name": "crm-sync", "scopes": ["responses:write", "results:read"]},
    "createOwnApiKey": {
        "name": "website",
        "kind": "publishable",
        "surveys": [
            {
                "survey_id": "0b7e3c52-9f6a-4d1e-8c3b-2a5f6e7d8c9b",
                "segments": ["plan"],
                "customer_id": True,
            }
        ],
        "origins": ["https://shop.example"],
    },
    "createBrowserToken": {
        "origins": ["https://partner.example"],
        "segment": "team:support",
        "ttl_seconds": 900,
    },
    "updateTenant": {"rate_limits": {"per_key": 6000, "per_tenant": 20000, "window_s": 60}},
    "createSurvey": {
        "name": "Relationship 2026",
        "kind": "relational",
        "question": "How likely are you to recommend us to a friend or colleague?",
    },
    "updateSurvey": {"name": "Relationship survey 2026"},
    "createResponse": {
        "survey_id": SURVEY_ID,
        "score": 6,
        "comment": "Support took three days to answer.",
        "customer_id": "cus_4711",
        "segments": {"team": "support", "region": "emea"},
        "answered_at": "2026-11-22T09:30:00+01:00",
        "locale": "de-DE",
        "external_id": "survey-link-8a7f",
    },
    "updateResponse": {"excluded": True, "reason": "internal test answer"},
    "createChange": {
        "title": "24/7 chat support",
        "effective_on": "2026-10-01",
        "description": "Support moved from office hours to round the clock.",
        "segment": "team:support",
    },
    "updateChange": {"effective_on": "2026-10-05"},
    "putTarget": {"nps": 30, "segment": "team:support"},
    "updateFollowup": {"status": "closed", "resolution": "Called back; refunded the fee."},
    "addFollowupNote": {"author": "maria@acme.example", "text": "Left a voicemail."},
    "updateSettings": {"followup_categories": ["detractor"], "followup_sla_hours": 24},
    "createWebhook": {
        "url": "https://hooks.example.com/nps",
        "events": ["response.created", "followup.created"],
        "description": "CRM sync",
    },
    "updateWebhook": {"enabled": True, "events": ["response.created"]},
    "createResponsesBatch": {
        "responses": [
            {"survey_id": SURVEY_ID, "score": 10, "segments": {"team": "sales"}},
            {"survey_id": SURVEY_ID, "score": 3, "comment": "Too expensive"},
        ]
    },
}
PARAMETER_EXAMPLES: dict[str, Any] = {
    "tenant_id": "5d1c4c0e-8a4b-4f3b-a1c8-0f4f1f6e2b33",
    "key_id": "9e3a7f5d-2c1b-4e8a-b7d6-5f4e3d2c1b0a",
    "survey_id": SURVEY_ID,
    "response_id": "c4f1a2b3-d5e6-4f70-8a9b-0c1d2e3f4a5b",
    "from": "2026-10-01",
    "to": "2026-10-31",
    "segment": ["team:support"],
    "dimension": "team",
    "interval": "week",
    "category": "detractor",
    "limit": 50,
    "cursor": "WyIyMDI2LTExLTIyVDA5OjMwOjAwWiIsImM0ZjEiXQ",
    "Idempotency-Key": "order-4711-nps",
    "change_id": "7d2c9e4a-1b3f-4c5d-8e6f-a7b8c9d0e1f2",
    "target_id": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7",
    "a_from": "2026-09-01",
    "a_to": "2026-09-30",
    "b_from": "2026-10-01",
    "b_to": "2026-10-31",
    "a_segment": "team:support",
    "b_segment": "team:sales",
    "sort": "difference",
    "margin": 5,
    "window_days": 30,
    "min_effect": 10,
    "format": "csv",
    "customer_id": "cus_4711",
    "case_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "status": "open",
    "owner": "maria@acme.example",
    "overdue": True,
    "updated_since": "2026-11-22T08:00:00Z",
    "webhook_id": "2a7c1e9d-4b3f-4e6a-9c8d-1f2e3d4c5b6a",
    "delivery_id": "8f1e2d3c-4b5a-4697-8a1b-2c3d4e5f6a7b",
    "vs": "promoters",
    "period": "week",
    "date": "2026-11-25",
    "followup": "none",
    "trend": "down",
    "min_comments": 3,
}


def _operations(spec: OpenAPI) -> list[Operation]:
    ops = []
    for item in (spec.paths or {}).values():
        for method in ("get", "put", "post", "patch", "delete"):
            op = getattr(item, method, None)
            if op is not None:
                ops.append(op)
    return ops


def add_examples(spec: OpenAPI) -> OpenAPI:
    """Fill request examples in place (Litestar has no hook for body examples)."""
    for op in _operations(spec):
        body = op.request_body
        if body is not None and not isinstance(body, Reference) and op.operation_id:
            value = BODY_EXAMPLES.get(op.operation_id)
            for media in body.content.values():
                if value is not None:
                    media.examples = {"example": Example(summary="A typical request", value=value)}
        for param in op.parameters or []:
            if isinstance(param, Parameter) and param.name in PARAMETER_EXAMPLES:
                param.examples = {
                    "example": Example(summary=param.name, value=PARAMETER_EXAMPLES[param.name])
                }
    return spec
