"""The spec's top-level `webhooks` (OpenAPI 3.1): one entry per event type we send.

Litestar documents only routes it serves, so the entries are added to the generated spec.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from litestar.openapi.spec import (
    Components,
    Example,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    Reference,
    RequestBody,
    Schema,
)

from api.schemas.digests import example_digest
from api.schemas.followups import CaseOut
from api.schemas.responses import ResponseOut
from domain.followups import Status
from domain.nps import Category
from domain.webhook_signing import MAX_RETRY_AFTER
from domain.webhooks import TEST_MESSAGE, EventType

_AT = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
_ANSWER = ResponseOut(
    id=UUID("c4f1a2b3-d5e6-4f70-8a9b-0c1d2e3f4a5b"),
    survey_id=UUID("0b6f5c1e-3f0a-4a8e-9d49-1c2f8e6b7a10"),
    score=6,
    category=Category.DETRACTOR,
    comment="Support took three days to answer.",
    customer_id="cus_4711",
    segments={"team": "support", "region": "emea"},
    answered_at=_AT,
    received_at=_AT + timedelta(seconds=2),
    locale="de-DE",
    external_id=None,
)


def _case(status: Status, *, overdue: bool = False) -> CaseOut:
    closed = status is Status.CLOSED
    return CaseOut(
        id=UUID("6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
        response_id=_ANSWER.id,
        survey_id=_ANSWER.survey_id,
        customer_id=_ANSWER.customer_id,
        score=_ANSWER.score,
        comment=_ANSWER.comment,
        segments=_ANSWER.segments,
        status=status,
        owner="maria@acme.example",
        due_at=_AT + timedelta(hours=48),
        overdue=overdue,
        first_contact_at=_AT + timedelta(hours=3) if closed else None,
        closed_at=_AT + timedelta(hours=5) if closed else None,
        resolution="Called back; refunded the fee." if closed else None,
        notes=[],
        created_at=_AT,
        updated_at=_AT + timedelta(hours=5 if closed else 49 if overdue else 0),
    )


_DATA: dict[EventType, tuple[str, object]] = {
    EventType.RESPONSE_CREATED: (
        "An answer was recorded: the answer as `GET /v1/responses/{response_id}` returns it.",
        _ANSWER,
    ),
    EventType.FOLLOWUP_CREATED: (
        "A follow-up was opened: the follow-up as the follow-ups API returns it.",
        _case(Status.OPEN),
    ),
    EventType.FOLLOWUP_UPDATED: (
        "A follow-up changed: the follow-up after the change.",
        _case(Status.CLOSED),
    ),
    EventType.FOLLOWUP_OVERDUE: (
        "A follow-up passed its due time without being closed.",
        _case(Status.OPEN, overdue=True),
    ),
    EventType.DIGEST_READY: (
        "A scheduled huddle digest is ready (once per period, `PATCH /v1/settings`): the "
        "digest as `GET /v1/digests/{period}` returns it in JSON.",
        example_digest(),
    ),
    EventType.WEBHOOK_TEST: (
        "Sent by `POST /v1/webhooks/{webhook_id}/test` to that endpoint only.",
        {"webhook_id": "2a7c1e9d-4b3f-4e6a-9c8d-1f2e3d4c5b6a", "message": TEST_MESSAGE},
    ),
}
_HEADERS = [
    (
        "webhook-id",
        Schema(type=OpenAPIType.STRING),
        "The event id (`msg_…`, also the payload's `id`): the same on every retry, so "
        "receivers dedupe on it.",
        "msg_2pmufdfv22ij7jpl3fvhmyzx",
    ),
    (
        "webhook-timestamp",
        Schema(type=OpenAPIType.INTEGER),
        "Unix seconds when this attempt was signed; reject ones far from your clock.",
        1795400000,
    ),
    (
        "webhook-signature",
        Schema(type=OpenAPIType.STRING),
        "Standard Webhooks v1: `v1,` and the base64 HMAC-SHA256 of "
        "`{webhook-id}.{webhook-timestamp}.{body}`, keyed with the base64-decoded part of the "
        "secret after `whsec_`. During the 24 h after a rotation, two signatures separated by "
        "a space (new secret, old secret): accept if any matches.",
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    ),
]


def _schema_name(event: EventType) -> str:
    return "WebhookEvent_" + event.value.replace(".", "_")


# `data` has the shape the API returns for the thing itself (a test compares them).
_DATA_SHAPES = {
    EventType.RESPONSE_CREATED: "ResponseOut",
    EventType.FOLLOWUP_CREATED: "CaseOut",
    EventType.FOLLOWUP_UPDATED: "CaseOut",
    EventType.FOLLOWUP_OVERDUE: "CaseOut",
    EventType.DIGEST_READY: "DigestOut",
}


def _data_schema(event: EventType, description: str) -> Schema | Reference:
    shape = _DATA_SHAPES.get(event)
    if shape is None:
        return Schema(
            type=OpenAPIType.OBJECT,
            description=description,
            required=["webhook_id", "message"],
            properties={
                "webhook_id": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.UUID),
                "message": Schema(type=OpenAPIType.STRING),
            },
        )
    return Schema(all_of=[Reference(ref=f"#/components/schemas/{shape}")], description=description)


def _payload(event: EventType) -> Schema:
    description, _ = _DATA[event]
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["id", "type", "created_at", "tenant_id", "data"],
        properties={
            "id": Schema(type=OpenAPIType.STRING, description="The event id (`msg_…`)"),
            "type": Schema(type=OpenAPIType.STRING, const=event.value),
            "created_at": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME),
            "tenant_id": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.UUID),
            "data": _data_schema(event, description),
        },
        description=f"The body of a `{event.value}` webhook request.",
    )


def _operation(event: EventType) -> Operation:
    _, data = _DATA[event]
    example = {
        "id": "msg_2pmufdfv22ij7jpl3fvhmyzx",
        "type": event.value,
        "created_at": "2026-11-22T09:30:00Z",
        "tenant_id": "5d1c4c0e-8a4b-4f3b-a1c8-0f4f1f6e2b33",
        "data": data,  # a Struct keeps its nulls (the spec writer drops None from dicts)
    }
    retry_after_h = int(MAX_RETRY_AFTER.total_seconds() // 3600)
    return Operation(
        operation_id="on" + "".join(p.capitalize() for p in event.value.split(".")),
        tags=["webhooks"],
        summary=_DATA[event][0],
        security=[],  # we call the receiver; it checks the signature headers
        parameters=[
            Parameter(
                name=name,
                param_in="header",
                required=True,
                schema=schema,
                description=text,
                examples={"example": Example(value=value)},
            )
            for name, schema, text, value in _HEADERS
        ],
        request_body=RequestBody(
            required=True,
            content={
                "application/json": OpenAPIMediaType(
                    schema=Reference(ref=f"#/components/schemas/{_schema_name(event)}"),
                    examples={"example": Example(summary="A typical event", value=example)},
                )
            },
        ),
        responses={
            "2XX": OpenAPIResponse(description="Delivered (any 2xx within 10 s)"),
            "410": OpenAPIResponse(description="Gone: the endpoint is disabled"),
            "429": OpenAPIResponse(
                description=f"Retried per `Retry-After` (seconds or date, up to {retry_after_h} h)"
            ),
            "default": OpenAPIResponse(
                description="Anything else, or no answer, is retried with backoff for about a "
                "day (8 attempts); an endpoint failing for 24 h is disabled"
            ),
        },
    )


def add_webhooks(spec: OpenAPI) -> OpenAPI:
    """Document every event type under `webhooks`, payload schemas under components."""
    components = spec.components if isinstance(spec.components, Components) else Components()
    schemas = dict(components.schemas or {})
    for event in EventType:
        schemas[_schema_name(event)] = _payload(event)
    components.schemas = schemas
    spec.components = components
    spec.webhooks = {event.value: PathItem(post=_operation(event)) for event in EventType}
    return spec
