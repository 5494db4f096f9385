"""The app under benchmark: the real API plus the baselines, served by the same server.

- POST /bench/noop decodes the same body as POST /v1/responses (same strict DTO) and
  does nothing else: the framework's own limit.
- GET /bench/hgetall makes exactly one HGETALL through the service's Redis client: the
  least any live read must do.
With NPS_BENCH_BREAKDOWN_CACHE=0 no breakdown is kept: every one is summed from all its buckets.
"""

from __future__ import annotations

import os
from typing import Any

from litestar import Litestar, Request, get, post
from litestar.params import JSONBody

from api.app import create_app
from api.body import StrictBody
from api.schemas.responses import ResponseCreate
from infra.redis import counter_reads
from infra.settings import load_settings

HGETALL_KEY = "nps:bench:hgetall"


@post(
    "/bench/noop",
    dto=StrictBody[ResponseCreate],
    return_dto=None,
    status_code=201,
    opt={"exclude_from_auth": True},
    include_in_schema=False,
)
async def noop(data: JSONBody[ResponseCreate]) -> dict[str, int]:
    return {"score": data.score}


@get("/bench/hgetall", opt={"exclude_from_auth": True}, include_in_schema=False)
async def hgetall(request: Request[Any, Any, Any]) -> dict[str, int]:
    fields = await request.app.state.runtime.redis.hgetall(HGETALL_KEY)
    return {k.decode(): int(v) for k, v in fields.items()}


def bench_app() -> Litestar:
    if os.environ.get("NPS_BENCH_BREAKDOWN_CACHE") == "0":  # measure every read recomputed
        counter_reads.BREAKDOWN_CACHE = 0
    return create_app(load_settings(), extra_handlers=[noop, hgetall])
