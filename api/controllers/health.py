"""Liveness and readiness."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

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
                Health, description="Not ready: PostgreSQL is down", generate_examples=False
            )
        },
    )
    async def ready(self, request: Request) -> Response[Health]:
        services = services_of(request)
        database = await services.check_database()
        redis = await services.check_redis()
        status = "ok" if database and redis else "degraded" if database else "unavailable"
        body = Health(
            status=status, database="up" if database else "down", redis="up" if redis else "down"
        )
        return Response(body, status_code=200 if database else 503)
