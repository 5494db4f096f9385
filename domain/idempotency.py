"""Idempotency-Key outcomes: one execution per (tenant, key), replays for retries.

The key is claimed in the same transaction that stores the request's answers, together
with the status and body it is answered with, so a claim is never seen half done.
"""

from __future__ import annotations

import msgspec


class Recorded(msgspec.Struct, frozen=True, kw_only=True):
    """The status and body recorded for a key: the request's answer, once and on retries.

    `replayed` when an earlier request recorded them (nothing was stored now)."""

    status_code: int
    body: bytes
    replayed: bool
