"""Webhook endpoints of the calling tenant, their deliveries and redeliveries."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from api.auth import principal_of, requires
from api.body import StrictBody
from api.created import created as created_at
from api.docs import header, problems
from api.params import Cursor, Limit
from api.schemas.webhooks import (
    DeliveryList,
    DeliveryQueued,
    SecretRotated,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
    WebhookUpdate,
    delivery_out,
    webhook_created,
    webhook_out,
)
from api.services import services_of
from domain import webhooks
from domain.model import DEFAULT_PAGE, Scope


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["webhooks"]
    security = [{"apiKey": []}]
    opt = requires(Scope.MANAGE)

    @post(
        "/",
        operation_id="createWebhook",
        summary="Register a webhook endpoint; its signing secret is shown only now",
        description="Events are POSTed as JSON and signed per Standard Webhooks v1 "
        "(`webhook-id`, `webhook-timestamp`, `webhook-signature` headers) with the returned "
        "`secret`. See the spec's `webhooks` section for the payloads.",
        dto=StrictBody[WebhookCreate],
        return_dto=None,
        responses=problems(400, 403),
        response_headers=header("Location"),
    )
    async def create(
        self, request: Request, data: JSONBody[WebhookCreate]
    ) -> Response[WebhookCreated]:
        services = services_of(request)
        created = await webhooks.create_webhook(
            tenant_id=principal_of(request).tenant_id,
            url=data.url,
            events=data.events,
            description=data.description,
            now=services.clock(),
            uow=services.uow,
            guard=services.webhook_targets,
        )
        body = webhook_created(created.endpoint, created.secret)
        return created_at(body, f"{self.path}/{created.endpoint.id}")

    @get(
        "/",
        operation_id="listWebhooks",
        summary="List webhook endpoints, newest first",
        responses=problems(403),
    )
    async def list_webhooks(
        self,
        request: Request,
        limit: Limit = DEFAULT_PAGE,
        cursor: Cursor = None,
    ) -> WebhookList:
        services = services_of(request)
        page = await webhooks.list_webhooks(
            tenant_id=principal_of(request).tenant_id, limit=limit, cursor=cursor, uow=services.uow
        )
        return WebhookList(data=[webhook_out(e) for e in page.items], next_cursor=page.next_cursor)

    @get(
        "/{webhook_id:uuid}",
        operation_id="getWebhook",
        summary="Get a webhook endpoint (never its secret)",
        responses=problems(403, 404),
    )
    async def get_webhook(self, request: Request, webhook_id: FromPath[UUID]) -> WebhookOut:
        services = services_of(request)
        endpoint = await webhooks.get_webhook(
            tenant_id=principal_of(request).tenant_id, endpoint_id=webhook_id, uow=services.uow
        )
        return webhook_out(endpoint)

    @patch(
        "/{webhook_id:uuid}",
        operation_id="updateWebhook",
        summary="Change a webhook endpoint; `enabled: true` re-enables a disabled one",
        dto=StrictBody[WebhookUpdate],
        return_dto=None,
        responses=problems(400, 403, 404),
    )
    async def update(
        self,
        request: Request,
        webhook_id: FromPath[UUID],
        data: JSONBody[WebhookUpdate],
    ) -> WebhookOut:
        services = services_of(request)
        endpoint = await webhooks.update_webhook(
            tenant_id=principal_of(request).tenant_id,
            endpoint_id=webhook_id,
            edit=webhooks.EndpointEdit(**msgspec.structs.asdict(data)),
            now=services.clock(),
            uow=services.uow,
            guard=services.webhook_targets,
        )
        return webhook_out(endpoint)

    @delete(
        "/{webhook_id:uuid}",
        operation_id="deleteWebhook",
        summary="Delete a webhook endpoint and its deliveries",
        responses=problems(403, 404),
    )
    async def delete_webhook(self, request: Request, webhook_id: FromPath[UUID]) -> None:
        services = services_of(request)
        await webhooks.delete_webhook(
            tenant_id=principal_of(request).tenant_id, endpoint_id=webhook_id, uow=services.uow
        )

    @post(
        "/{webhook_id:uuid}/rotate-secret",
        operation_id="rotateWebhookSecret",
        status_code=200,
        summary="Replace the signing secret; the old one keeps signing alongside for 24 h",
        description="Shown only now. Until `previous_secret_expires_at`, `webhook-signature` "
        "carries two space-separated `v1,` signatures: with the new and the old secret.",
        responses=problems(403, 404),
    )
    async def rotate_secret(self, request: Request, webhook_id: FromPath[UUID]) -> SecretRotated:
        services = services_of(request)
        rotated = await webhooks.rotate_webhook_secret(
            tenant_id=principal_of(request).tenant_id,
            endpoint_id=webhook_id,
            now=services.clock(),
            uow=services.uow,
        )
        return SecretRotated(
            id=rotated.endpoint.id,
            secret=rotated.secret,
            previous_secret_expires_at=rotated.endpoint.previous_secret_expires_at,
        )

    @post(
        "/{webhook_id:uuid}/test",
        operation_id="testWebhook",
        status_code=202,
        summary="Queue a webhook.test event for this endpoint only",
        responses=problems(403, 404, 409),
    )
    async def send_test(self, request: Request, webhook_id: FromPath[UUID]) -> DeliveryQueued:
        services = services_of(request)
        queued = await webhooks.send_test_event(
            tenant_id=principal_of(request).tenant_id,
            endpoint_id=webhook_id,
            now=services.clock(),
            uow=services.uow,
        )
        return DeliveryQueued(delivery_id=queued.delivery_id, event_id=queued.event_id)


class WebhookDeliveryController(Controller):
    path = "/v1/webhooks/{webhook_id:uuid}/deliveries"
    tags = ["webhooks"]
    security = [{"apiKey": []}]
    opt = requires(Scope.MANAGE)

    @get(
        "/",
        operation_id="listWebhookDeliveries",
        summary="Deliveries to an endpoint, newest first, each with every attempt made",
        responses=problems(403, 404),
    )
    async def list_deliveries(
        self,
        request: Request,
        webhook_id: FromPath[UUID],
        limit: Limit = DEFAULT_PAGE,
        cursor: Cursor = None,
    ) -> DeliveryList:
        services = services_of(request)
        page = await webhooks.list_deliveries(
            tenant_id=principal_of(request).tenant_id,
            endpoint_id=webhook_id,
            limit=limit,
            cursor=cursor,
            uow=services.uow,
        )
        return DeliveryList(
            data=[delivery_out(d) for d in page.items], next_cursor=page.next_cursor
        )

    @post(
        "/{delivery_id:uuid}/redeliver",
        operation_id="redeliverWebhookDelivery",
        status_code=202,
        media_type=MediaType.TEXT,  # no body: JSON would render None as `null`
        summary="Send a delivery again now (also after it failed), with a fresh retry budget",
        responses=problems(403, 404, 409),
    )
    async def redeliver(
        self,
        request: Request,
        webhook_id: FromPath[UUID],
        delivery_id: FromPath[UUID],
    ) -> None:
        services = services_of(request)
        await webhooks.redeliver(
            tenant_id=principal_of(request).tenant_id,
            endpoint_id=webhook_id,
            delivery_id=delivery_id,
            uow=services.uow,
        )
