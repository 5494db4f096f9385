"""Customers for CRMs: latest score and history; erasure of personal data; the audit log."""

from __future__ import annotations

from pathlib import Path

from litestar import Controller, Request, delete, get
from litestar.params import FromPath, FromQuery

from api.auth import principal_of, requires
from api.customer_export import (
    FILTERS_DOC,
    AnsweredFrom,
    AnsweredTo,
    UpdatedSince,
    customer_filter,
)
from api.docs import problems
from api.params import Cursor, Limit
from api.schemas.customers import (
    AuditList,
    CustomerChangeList,
    CustomerOut,
    ErasureOut,
    audit_out,
    change_out,
    customer_out,
    erasure_out,
)
from api.services import services_of
from domain import customers
from domain.customers import FollowupState, Trend
from domain.errors import NotFound
from domain.model import DEFAULT_PAGE, Scope
from domain.nps import Category


def _customer(path: Path) -> str:
    """The customer id from the rest of the path (ids may contain '/').

    An id that no answer can carry (over 255 characters, or with a NUL, which PostgreSQL
    text cannot hold) names no customer.
    """
    customer_id = str(path).lstrip("/")
    if len(customer_id) > 255 or "\x00" in customer_id:
        raise NotFound("customer not found")
    return customer_id


class CustomerController(Controller):
    path = "/v1/customers"
    tags = ["customers"]
    security = [{"apiKey": []}]

    @get(
        "/",
        operation_id="listChangedCustomers",
        summary="Customers for CRM sync, reward and rescue lists",
        description="Ordered by (updated_at, customer_id), oldest change first. Follow "
        "`next_cursor` until it is null, then keep the last `updated_at` for the next sync. "
        "A change committed while a client pages through always sorts after the rows it has "
        "seen, so paging never skips or repeats a change. A customer changes when they answer, "
        "when one of their answers is excluded or included again, and when one of their "
        "follow-up cases changes; erased customers leave the feed. " + FILTERS_DOC,
        opt=requires(Scope.RESULTS_READ),
        responses=problems(400, 403),
    )
    async def list_changed(
        self,
        request: Request,
        updated_since: UpdatedSince = None,
        category: FromQuery[Category | None] = None,
        from_: AnsweredFrom = None,
        to: AnsweredTo = None,
        followup: FromQuery[FollowupState | None] = None,
        trend: FromQuery[Trend | None] = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: Cursor = None,
    ) -> CustomerChangeList:
        services = services_of(request)
        flt = customer_filter(updated_since, category, from_, to, followup, trend)
        page = await customers.changed_customers(
            tenant_id=principal_of(request).tenant_id,
            flt=flt,
            limit=limit,
            cursor=cursor,
            now=services.clock(),
            uow=services.uow,
        )
        return CustomerChangeList(
            data=[change_out(c) for c in page.items], next_cursor=page.next_cursor
        )

    @get(
        "/{customer_id:path}",
        operation_id="getCustomer",
        summary="A customer's latest score, counts and last 20 answers",
        opt=requires(Scope.RESULTS_READ),
        responses=problems(403, 404),
    )
    async def get_customer(self, request: Request, customer_id: FromPath[Path]) -> CustomerOut:
        services = services_of(request)
        profile = await customers.customer_profile(
            tenant_id=principal_of(request).tenant_id,
            customer_id=_customer(customer_id),
            uow=services.uow,
        )
        return customer_out(profile)

    @delete(
        "/{customer_id:path}",
        operation_id="eraseCustomer",
        status_code=200,
        summary="Erase a customer's personal data",
        description="Removes the customer id and the comments from every answer of the "
        "customer; the scores stay counted, anonymously. Recorded in the audit log without "
        "the erased data.",
        opt=requires(Scope.MANAGE),
        responses=problems(403, 404),
    )
    async def erase_customer(self, request: Request, customer_id: FromPath[Path]) -> ErasureOut:
        services = services_of(request)
        principal = principal_of(request)
        erased = await customers.erase_customer(
            tenant_id=principal.tenant_id,
            customer_id=_customer(customer_id),
            actor_key_id=principal.key_id,
            now=services.clock(),
            uow=services.uow,
        )
        return erasure_out(erased)


class AuditController(Controller):
    path = "/v1/audit"
    tags = ["customers"]
    security = [{"apiKey": []}]

    @get(
        "/",
        operation_id="listAudit",
        summary="The tenant's audit log, newest first",
        opt=requires(Scope.MANAGE),
        responses=problems(403),
    )
    async def list_audit(
        self, request: Request, limit: Limit = DEFAULT_PAGE, cursor: Cursor = None
    ) -> AuditList:
        services = services_of(request)
        page = await customers.audit_log(
            tenant_id=principal_of(request).tenant_id, limit=limit, cursor=cursor, uow=services.uow
        )
        return AuditList(data=[audit_out(e) for e in page.items], next_cursor=page.next_cursor)
