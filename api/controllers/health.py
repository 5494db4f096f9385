"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Literal

import msgspec
from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from api.errors import RETRY_AFTER_S
from api.services import services_of


class Health(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    status: Literal["ok", "degraded", "unavailable"]
    database: Literal["up", "down"] | None = None
    redis: Literal["up", "down"] | None = None


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", operation_id="getLiveness", summary="The process is up")
    async def live(self) -> Health:
        return Health(status="ok")

    @get(
        "/ready",
        operation_id="getReadiness",
        summary="Ready to serve: 200 (degraded while Redis is down), 503 without PostgreSQL",
        responses={
            503: ResponseSpec(
                Health,
                description="Not ready: PostgreSQL is down (with Retry-After)",
                generate_examples=False,
            )
        },
        description=(
            "Answers within 1 s: each dependency is given 0.5 s, both at once. 503 (with"
            " Retry-After) when PostgreSQL does not answer; `redis: down` and status"
            " `degraded` while Redis is away (answers are still stored, results come from"
            " PostgreSQL)."
        ),
    )
    async def ready(self, request: Request) -> Response[Health]:
        services = services_of(request)
        database, redis = await asyncio.gather(services.check_database(), services.check_redis())
        status = "ok" if database and redis else "degraded" if database else "unavailable"
        body = Health(
            status=status, database="up" if database else "down", redis="up" if redis else "down"
        )
        if database:
            return Response(body)
        return Response(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
