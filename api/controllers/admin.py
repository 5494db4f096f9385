"""Operator endpoints: tenants and their API keys (admin token)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from api.body import StrictBody
from api.created import created
from api.docs import header, problems
from api.params import Cursor, Limit
from api.schemas.tenants import (
    KeyCreate,
    KeyCreated,
    TenantCreate,
    TenantList,
    TenantOut,
    TenantUpdate,
    key_created,
    tenant_out,
)
from api.services import services_of
from domain import tenants
from domain.model import DEFAULT_PAGE


class TenantController(Controller):
    path = "/v1/admin/tenants"
    tags = ["admin"]
    security = [{"adminToken": []}]

    @post(
        "/",
        operation_id="createTenant",
        summary="Create a tenant",
        dto=StrictBody[TenantCreate],
        return_dto=None,
        responses=problems(400),
        response_headers=header("Location"),
    )
    async def create(self, data: JSONBody[TenantCreate], request: Request) -> Response[TenantOut]:
        services = services_of(request)
        tenant = await tenants.create_tenant(
            name=data.name,
            timezone=data.timezone,
            now=services.clock(),
            uow=services.uow,
            counters=services.counters,
        )
        body = tenant_out(tenant, services.rate_limits.defaults)
        return created(body, f"{self.path}/{tenant.id}")

    @get(
        "/{tenant_id:uuid}",
        operation_id="getTenant",
        summary="Read a tenant and its rate limits",
        responses=problems(404),
    )
    async def get_tenant(self, tenant_id: FromPath[UUID], request: Request) -> TenantOut:
        services = services_of(request)
        tenant = await tenants.get_tenant(tenant_id=tenant_id, uow=services.uow)
        return tenant_out(tenant, services.rate_limits.defaults)

    @patch(
        "/{tenant_id:uuid}",
        operation_id="updateTenant",
        summary="Change a tenant's rate limits",
        description="Applies to the tenant's next request in every API process. Fields "
        "left out keep their value; null brings one back to the service default "
        "(`NPS_RATE_LIMIT_PER_KEY`, `NPS_RATE_LIMIT_PER_TENANT`, `NPS_RATE_LIMIT_WINDOW_S`).",
        dto=StrictBody[TenantUpdate],
        return_dto=None,
        responses=problems(400, 404),
    )
    async def update_tenant(
        self, tenant_id: FromPath[UUID], data: JSONBody[TenantUpdate], request: Request
    ) -> TenantOut:
        services = services_of(request)
        tenant = await tenants.set_tenant_limits(
            tenant_id=tenant_id,
            changes=data.rate_limits.changes(),
            uow=services.uow,
            cache=services.principals,
        )
        return tenant_out(tenant, services.rate_limits.defaults)

    @get("/", operation_id="listTenants", summary="List tenants", responses=problems())
    async def list_tenants(
        self,
        request: Request,
        limit: Limit = DEFAULT_PAGE,
        cursor: Cursor = None,
    ) -> TenantList:
        services = services_of(request)
        page = await tenants.list_tenants(limit=limit, cursor=cursor, uow=services.uow)
        defaults = services.rate_limits.defaults
        return TenantList(
            data=[tenant_out(t, defaults) for t in page.items], next_cursor=page.next_cursor
        )

    @post(
        "/{tenant_id:uuid}/keys",
        operation_id="createApiKey",
        summary="Create an API key",
        description="The `key` is shown in this answer only; only its hash is stored. "
        "A publishable key (`pk_…`) is bound to surveys and web origins and can only record "
        "answers to those surveys.",
        dto=StrictBody[KeyCreate],
        return_dto=None,
        responses=problems(400, 404),
    )
    async def create_key(
        self, tenant_id: FromPath[UUID], data: JSONBody[KeyCreate], request: Request
    ) -> KeyCreated:
        services = services_of(request)
        key, secret_key = await tenants.create_key(
            tenant_id=tenant_id,
            spec=data.to_domain(),
            now=services.clock(),
            uow=services.uow,
        )
        services.browser_origins.invalidate()
        return key_created(key, secret_key)

    @delete(
        "/{tenant_id:uuid}/keys/{key_id:uuid}",
        operation_id="revokeApiKey",
        summary="Revoke an API key at once",
        responses=problems(404),
    )
    async def revoke_key(
        self, tenant_id: FromPath[UUID], key_id: FromPath[UUID], request: Request
    ) -> None:
        services = services_of(request)
        await tenants.revoke_key(
            tenant_id=tenant_id, key_id=key_id, uow=services.uow, cache=services.principals
        )
        services.browser_origins.invalidate()  # its origins stop passing preflights
