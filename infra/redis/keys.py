"""Counter key layout: every key of a tenant shares the `{tenant}` hash tag (one cluster slot).

    nps:{T}:meta                                hash: state (ready|rebuilding), gen, and
                                                behind (a count) while changes wait in
                                                the outbox that readers must not miss
    nps:{T}:g<gen>:h:<survey|all>:<bucket>:<seg> hash: "0".."10" -> answers with that score
    nps:{T}:g<gen>:dims                         set of dimension names seen
    nps:{T}:g<gen>:v:<dim>                      set of values seen for a dimension
    nps:{T}:g<gen>:applied                      set of writing transactions (xid) applied
    nps:{T}:g<gen>:bv                           hash: "<scope>:<bucket>" -> version, bumped by
                                                every apply that changes that bucket

bucket is a local day `d20261122` or month `m202611`; seg is `_` or `<dimension>=<value>`.

Outside the tenants' slots:

    nps:counters:behind                         set of tenants marked behind (the drainer's
                                                list of tenants to clear)
    nps:counters:alive                          present while Redis holds counters; gone
                                                means Redis lost its data (rebuild all)
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec

from domain.periods import day_key, month_key

if TYPE_CHECKING:
    from infra.postgres.outbox import OutboxRow

_encode = msgspec.json.encode
NO_SEGMENT = "_"
ALL_SURVEYS = "all"
BEHIND_SET = "nps:counters:behind"
ALIVE = "nps:counters:alive"


@functools.lru_cache(maxsize=4096)  # every read and apply names its tenant's keys
def tenant_prefix(tenant_id: UUID) -> str:
    return f"nps:{{{tenant_id}}}:"


@functools.lru_cache(maxsize=4096)
def meta_key(tenant_id: UUID) -> str:
    return f"{tenant_prefix(tenant_id)}meta"


def gen_prefix(tenant_id: UUID, gen: int) -> str:
    return f"{tenant_prefix(tenant_id)}g{gen}:"


def hist_key(tenant_id: UUID, gen: int, scope: str, bucket: str, seg: str) -> str:
    return f"{gen_prefix(tenant_id, gen)}h:{scope}:{bucket}:{seg}"


def dims_key(tenant_id: UUID, gen: int) -> str:
    return f"{gen_prefix(tenant_id, gen)}dims"


def values_key(tenant_id: UUID, gen: int, dimension: str) -> str:
    return f"{gen_prefix(tenant_id, gen)}v:{dimension}"


def applied_key(tenant_id: UUID, gen: int) -> str:
    return f"{gen_prefix(tenant_id, gen)}applied"


def segment(dimension: str, value: str) -> str:
    return f"{dimension}={value}"


def apply_payload(rows: Iterable[OutboxRow]) -> bytes:
    """apply.lua's rows: grouped by writing transaction, each with its buckets named.

    Rows of one transaction are always applied together, so the transaction id is the unit
    remembered in the applied set; the script expands and sums the deltas itself.
    """
    groups: dict[str, list[tuple[str, str, str, int, int, dict[str, str]]]] = {}
    buckets: dict[date, tuple[str, str]] = {}
    for row in rows:
        day = row.local_date
        names = buckets.get(day)
        if names is None:
            names = buckets[day] = (day_key(day), month_key(day.year, day.month))
        groups.setdefault(row.xid, []).append(
            (str(row.survey_id), *names, row.score, row.delta, row.segments)
        )
    return _encode(list(groups.items()))
