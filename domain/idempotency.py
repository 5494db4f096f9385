"""Idempotency-Keys: one execution per (tenant, key), the same outcome for every retry.

The key is claimed in the same transaction that stores the request's answers, together
with the outcome the request gets, so a claim is never seen half done. What is recorded is
the domain's outcome (domain.outcomes), never an HTTP answer: api/ renders that after the
commit, the same way for the first answer and for each replay.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from domain.outcomes import (
    IngestResult,
    ItemOutcome,
    RequestOutcome,
    batch_outcome,
    response_outcome,
)


class IdempotencyKey(msgspec.Struct, frozen=True, kw_only=True):
    """A request's Idempotency-Key; `request_hash` tells a retry (the same request) from
    another request that reuses the key."""

    key: str
    request_hash: bytes


class IdempotencyClaim(msgspec.Struct, frozen=True, kw_only=True):
    """Claim `key` and record the request's outcome in the transaction of its answers.

    A batch (`batch`) records its items rejected before ingest (`rejected`, by position)
    with the others; a single answer that was not stored records nothing (the key is
    forgotten, and a retry runs again)."""

    key: str
    request_hash: bytes
    batch: bool = False
    rejected: dict[int, ItemOutcome] = {}

    def outcome(self, results: Sequence[IngestResult]) -> RequestOutcome | None:
        """The request's outcome given its answers' results; None: nothing to record."""
        if self.batch:
            return batch_outcome(self.rejected, results)
        return response_outcome(results[0])


class Recorded(msgspec.Struct, frozen=True, kw_only=True):
    """A request's outcome; `replayed` when an earlier request with its Idempotency-Key
    recorded it (nothing was stored now)."""

    outcome: RequestOutcome
    replayed: bool = False


# What an ingest answers: one result per answer, or, for a request with an Idempotency-Key,
# the outcome recorded for the key (by this request, or by an earlier one: then nothing was
# stored now). A keyed request that records nothing (a single answer not stored) gets its
# results. A key still in use by a running request raises Conflict; a key used with
# another body raises IdempotencyMismatch.
Ingested = list[IngestResult] | Recorded
