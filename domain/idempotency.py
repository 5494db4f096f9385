"""Idempotency-Key claims: one execution per (tenant, key), replays for retries."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

import msgspec


class Claimed(msgspec.Struct, frozen=True):
    """This request owns the key and must run."""


class Replay(msgspec.Struct, frozen=True, kw_only=True):
    status_code: int
    body: bytes


class InProgress(msgspec.Struct, frozen=True):
    """The first request with this key is still running."""


class Mismatch(msgspec.Struct, frozen=True):
    """The key was used before with another request body."""


Claim = Claimed | Replay | InProgress | Mismatch


class IdempotencyStore(Protocol):
    async def claim(self, *, tenant_id: UUID, key: str, request_hash: bytes) -> Claim: ...
    async def release(self, *, tenant_id: UUID, key: str) -> None: ...
