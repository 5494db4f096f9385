"""Idempotency-Key outcomes: one execution per (tenant, key), replays for retries.

The key is claimed in the same transaction that stores the request's answers, together
with the status and body it is answered with, so a claim is never seen half done.
"""

from __future__ import annotations

import msgspec


class Replay(msgspec.Struct, frozen=True, kw_only=True):
    """The key was used before with the same request: answer what was answered then."""

    status_code: int
    body: bytes
