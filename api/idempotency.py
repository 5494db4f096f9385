"""Idempotency-Key handling: run once per (tenant, key), replay the stored status and body.

The claim itself happens in the ingest transaction (see infra.ingest): no database round
trip of its own per request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response

from domain.idempotency import Recorded
from domain.responses import IdempotencyCompletion, Render

REPLAYED = "Idempotent-Replayed"
Run = Callable[[IdempotencyCompletion | None], Awaitable[tuple[int, bytes] | Recorded]]


def json_response(status: int, body: bytes, **headers: str) -> Response[Any]:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def run_idempotent(
    request: Request[Any, Any, Any], key: str | None, render: Render, run: Run
) -> Response[Any]:
    """Run `run` once per (tenant, key); `render` gives the status and body to remember."""
    completion = None
    if key is not None:
        digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
        digest.update(await request.body())
        completion = IdempotencyCompletion(key=key, request_hash=digest.digest(), render=render)
    outcome = await run(completion)
    if not isinstance(outcome, Recorded):
        return json_response(*outcome)
    replayed = {REPLAYED: "true"} if outcome.replayed else {}
    return json_response(outcome.status_code, outcome.body, **replayed)
