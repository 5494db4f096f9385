"""The counter layout, in one place: key names, meta and version fields, the fan-out of an
answer into counters, and the apply payload. The Lua scripts take the names from here
(`lua_prelude`); LAYOUT_VERSION is stored in each generation's meta.

Every key of a tenant shares the `{tenant}` hash tag (one cluster slot):

    nps:{T}:meta                                hash: state (ready|rebuilding), gen, layout
                                                (the LAYOUT_VERSION the generation was
                                                written with; missing = 1), and behind (a
                                                count) while changes wait in the outbox
                                                that readers must not miss
    nps:{T}:g<gen>:h:<survey|all>:<bucket>:<seg> hash: "0".."10" -> answers with that score
    nps:{T}:g<gen>:dims                         set of dimension names seen
    nps:{T}:g<gen>:v:<dim>                      set of values seen for a dimension
    nps:{T}:g<gen>:applied                      set of writing transactions (xid) applied
    nps:{T}:g<gen>:bv                           hash: "<scope>:<bucket>" -> version, bumped by
                                                every apply that changes that bucket

bucket is a local day `d20261122` or month `m202611`; seg is `_` or `<dimension>=<value>`.
The fan-out (`cells`): an answer counts in (its survey, all) x (its day, its month) x (no
segment, each of its segments). apply.lua expands the same rule from the apply payload;
tests/integration/test_counter_layout.py ties the two.

Outside the tenants' slots:

    nps:counters:behind                         set of tenants marked behind (the drainer's
                                                list of tenants to clear)
    nps:counters:alive                          present while Redis holds counters; gone
                                                means Redis lost its data (rebuild all)
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec

from domain.periods import day_key, month_key

if TYPE_CHECKING:
    from infra.postgres.outbox import OutboxRow

# Bump when anything below changes what a generation's keys hold or are named (see the
# checklist in docs/architecture.md); a process refuses generations of another version.
LAYOUT_VERSION = 1
UNVERSIONED = 1  # the layout of a generation whose meta has no `layout` field

# meta fields and states
STATE, GEN, LAYOUT, BEHIND = "state", "gen", "layout", "behind"
READY, REBUILDING = "ready", "rebuilding"

NO_SEGMENT = "_"
ALL_SURVEYS = "all"
SEGMENT_SEPARATOR = "="
GEN_PREFIX, HIST, DIMS, VALUES, APPLIED, VERSIONS = "g", "h:", "dims", "v:", "applied", "bv"
BEHIND_SET = "nps:counters:behind"
ALIVE = "nps:counters:alive"


@functools.lru_cache(maxsize=4096)  # every read and apply names its tenant's keys
def tenant_prefix(tenant_id: UUID) -> str:
    return f"nps:{{{tenant_id}}}:"


@functools.lru_cache(maxsize=4096)
def meta_key(tenant_id: UUID) -> str:
    return f"{tenant_prefix(tenant_id)}meta"


def gen_prefix(tenant_id: UUID, gen: int) -> str:
    return f"{tenant_prefix(tenant_id)}{GEN_PREFIX}{gen}:"


def hist_key(tenant_id: UUID, gen: int, scope: str, bucket: str, seg: str) -> str:
    return f"{gen_prefix(tenant_id, gen)}{HIST}{scope}:{bucket}:{seg}"


def hist_segment(key: str) -> str:
    """The seg of a hist_key (a value may hold colons)."""
    return key.split(f":{HIST}", 1)[1].split(":", 2)[2]


def dims_key(tenant_id: UUID, gen: int) -> str:
    return f"{gen_prefix(tenant_id, gen)}{DIMS}"


def values_key(tenant_id: UUID, gen: int, dimension: str) -> str:
    return f"{gen_prefix(tenant_id, gen)}{VALUES}{dimension}"


def applied_key(tenant_id: UUID, gen: int) -> str:
    return f"{gen_prefix(tenant_id, gen)}{APPLIED}"


def segment(dimension: str, value: str) -> str:
    return f"{dimension}{SEGMENT_SEPARATOR}{value}"


def scope_of(survey_id: UUID | None) -> str:
    """A read's scope: one survey, or every survey of the tenant."""
    return str(survey_id) if survey_id else ALL_SURVEYS


def buckets(day: date) -> tuple[str, str]:
    """The two buckets an answer of this local day counts in: its day and its month."""
    return day_key(day), month_key(day.year, day.month)


def scopes_and_buckets(survey_id: UUID, day: date) -> Iterator[tuple[str, str]]:
    """Where an answer counts, for each of its segments: (its survey, all) x (day, month)."""
    for scope in (str(survey_id), ALL_SURVEYS):
        for bucket in buckets(day):
            yield scope, bucket


def segments_of(segments: Mapping[str, str]) -> tuple[str, ...]:
    """The segs an answer counts under: none, and each of its segments."""
    return (NO_SEGMENT, *(segment(d, v) for d, v in segments.items()))


def cells(
    survey_id: UUID, day: date, segments: Mapping[str, str]
) -> Iterator[tuple[str, str, str]]:
    """The fan-out rule: every (scope, bucket, seg) counter an answer counts in."""
    segs = segments_of(segments)
    for scope, bucket in scopes_and_buckets(survey_id, day):
        for seg in segs:
            yield scope, bucket, seg


class ApplyRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One outbox row as apply.lua reads it: the fields `cells` needs, buckets named."""

    survey: str
    day: str
    month: str
    score: int
    delta: int
    segments: dict[str, str]


class ApplyTransaction(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The rows of one writing transaction: applied together, remembered by `xid`."""

    xid: str
    rows: list[ApplyRow]


_encode = msgspec.json.encode


def apply_transactions(rows: Iterable[OutboxRow]) -> list[ApplyTransaction]:
    """Outbox rows grouped by writing transaction, in the order they come."""
    groups: dict[str, list[ApplyRow]] = {}
    named: dict[date, tuple[str, str]] = {}
    for row in rows:
        day = row.local_date
        names = named.get(day)
        if names is None:
            names = named[day] = buckets(day)
        groups.setdefault(row.xid, []).append(
            ApplyRow(
                survey=str(row.survey_id),
                day=names[0],
                month=names[1],
                score=row.score,
                delta=row.delta,
                segments=row.segments,
            )
        )
    return [ApplyTransaction(xid=xid, rows=group) for xid, group in groups.items()]


def apply_payload(rows: Iterable[OutboxRow]) -> bytes:
    """apply.lua's rows as JSON: a list of ApplyTransaction; the script expands the fan-out
    and sums the deltas itself (one HINCRBY per distinct key and score)."""
    return _encode(apply_transactions(rows))


def lua_prelude() -> str:
    """The layout's names as a Lua table, put before every counter script."""
    names = {
        "unversioned": str(UNVERSIONED),
        "state": STATE,
        "gen": GEN,
        "layout": LAYOUT,
        "behind": BEHIND,
        "ready": READY,
        "no_segment": NO_SEGMENT,
        "all_surveys": ALL_SURVEYS,
        "segment_separator": SEGMENT_SEPARATOR,
        "hist": HIST,
        "dims": DIMS,
        "values": VALUES,
        "versions": VERSIONS,
        "gen_prefix": GEN_PREFIX,
    }
    fields = ", ".join(f"{name} = {_lua_string(value)}" for name, value in names.items())
    return f"local LAYOUT = {{{fields}}}\n"


def _lua_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
