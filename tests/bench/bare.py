"""The baselines again in a bare Litestar app: none of the project's middleware.

The same two routes as tests/bench/app.py (POST /bench/noop decoding the same body with
the same strict DTO, GET /bench/hgetall making one HGETALL through a client built as the
service builds its own), served by the same server with the same worker count, after the
same `gc.freeze()`. No request logging, metrics, CORS, request guards, authentication,
rate limits, ETags or compression: a case's ratio to these baselines includes what the
project's per-request layers cost, its ratio to the in-app ones does not.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Request, get, post
from litestar.params import JSONBody

from api.body import StrictBody
from api.schemas.responses import ResponseCreate
from infra.redis.client import connect_redis
from infra.settings import load_settings
from tests.bench.app import HGETALL_KEY


@post("/bench/noop", dto=StrictBody[ResponseCreate], return_dto=None, status_code=201)
async def noop(data: JSONBody[ResponseCreate]) -> dict[str, int]:
    return {"score": data.score}


@get("/bench/hgetall")
async def hgetall(request: Request[Any, Any, Any]) -> dict[str, int]:
    fields = await request.app.state.redis.hgetall(HGETALL_KEY)
    return {k.decode(): int(v) for k, v in fields.items()}


@get("/health/ready")
async def ready() -> dict[str, str]:
    return {"status": "ready"}


def bare_app() -> Litestar:
    settings = load_settings()
    assert settings.redis_url, "the bare baseline app needs NPS_REDIS_URL"

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.redis = connect_redis(settings.redis_url or "", timeout=settings.redis_timeout_s)
        gc.freeze()  # as the API does after its start-up
        try:
            yield
        finally:
            await app.state.redis.aclose()

    return Litestar(
        route_handlers=[noop, hgetall, ready],
        lifespan=[lifespan],
        openapi_config=None,
        logging_config=None,
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
