"""GET /metrics: Prometheus text exposition for the operator (admin token)."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from api.auth import METRICS_PATH
from api.docs import problems
from api.services import services_of

EXPOSITION = "text/plain; version=0.0.4"  # Litestar adds "; charset=utf-8"


class MetricsController(Controller):
    path = METRICS_PATH
    tags = ["admin"]
    security = [{"adminToken": []}]

    @get(
        "/",
        operation_id="getMetrics",
        summary="Prometheus metrics of the service (admin token)",
        description=(
            "Prometheus text format 0.0.4: requests by route template and status with their"
            " latency, group commits, counter drain and rebuilds, webhook attempts, and the"
            " backlog read at scrape time (oldest unapplied counter update, oldest due"
            " webhook delivery, PostgreSQL and Redis up). With several workers every"
            " process's values are summed. The README lists every metric."
        ),
        media_type=EXPOSITION,
        responses={
            200: ResponseSpec(
                str,
                description="The metrics (`text/plain; version=0.0.4`)",
                media_type="text/plain",
                generate_examples=False,
            ),
            **problems(),
        },
    )
    async def metrics(self, request: Request) -> Response[bytes]:
        return Response(await services_of(request).metrics(), media_type=EXPOSITION)
