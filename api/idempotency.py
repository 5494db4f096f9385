"""Idempotency-Key: the key of a request and the fingerprint that tells its retries apart.

The claim itself happens in the ingest transaction (see infra.ingest): no database round
trip of its own per request. What a key records is the request's outcome; api.writes
renders it, after the commit, the same way for the first answer and for every replay.
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Request

from domain.idempotency import IdempotencyKey

REPLAYED = "Idempotent-Replayed"


async def idempotency_of(request: Request[Any, Any, Any], key: str | None) -> IdempotencyKey | None:
    """The request's key with a hash of its method, path and body (None without a key)."""
    if key is None:
        return None
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
    digest.update(await request.body())
    return IdempotencyKey(key=key, request_hash=digest.digest())
