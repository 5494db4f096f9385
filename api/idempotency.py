"""Idempotency-Key handling: claim, run once, replay the stored status and body."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response

from api.auth import principal_of
from api.services import Services
from domain.errors import Conflict, IdempotencyMismatch
from domain.idempotency import Claimed, InProgress, Mismatch, Replay
from domain.responses import IdempotencyCompletion, Render

REPLAYED = "Idempotent-Replayed"
Run = Callable[[IdempotencyCompletion | None], Awaitable[tuple[int, bytes]]]


def json_response(status: int, body: bytes, **headers: str) -> Response[Any]:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def run_idempotent(
    request: Request[Any, Any, Any], services: Services, key: str | None, render: Render, run: Run
) -> Response[Any]:
    """Run `run` once per (tenant, key); `render` gives the status and body to remember."""
    if key is None:
        return json_response(*await run(None))
    tenant_id = principal_of(request).tenant_id
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
    digest.update(await request.body())
    claim = await services.idempotency.claim(
        tenant_id=tenant_id, key=key, request_hash=digest.digest()
    )
    if isinstance(claim, Replay):
        return json_response(claim.status_code, claim.body, **{REPLAYED: "true"})
    if isinstance(claim, InProgress):
        raise Conflict("a request with this Idempotency-Key is still being processed; retry later")
    if isinstance(claim, Mismatch):
        raise IdempotencyMismatch("this Idempotency-Key was used with another request body")
    assert isinstance(claim, Claimed)
    try:
        status, body = await run(IdempotencyCompletion(key=key, render=render))
    except BaseException:
        await services.idempotency.release(tenant_id=tenant_id, key=key)
        raise
    return json_response(status, body)
