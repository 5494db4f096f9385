"""Counter key layout: every key of a tenant shares the `{tenant}` hash tag (one cluster slot).

    nps:{T}:meta                                hash: state (ready|rebuilding), gen
    nps:{T}:g<gen>:h:<survey|all>:<bucket>:<seg> hash: "0".."10" -> answers with that score
    nps:{T}:g<gen>:dims                         set of dimension names seen
    nps:{T}:g<gen>:v:<dim>                      set of values seen for a dimension
    nps:{T}:g<gen>:applied                      set of writing transactions (xid) applied

bucket is a local day `d20261122` or month `m202611`; seg is `_` or `<dimension>=<value>`.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

from domain.periods import day_key, month_key

if TYPE_CHECKING:
    from infra.postgres.outbox import OutboxRow

NO_SEGMENT = "_"
ALL_SURVEYS = "all"


def tenant_prefix(tenant_id: UUID) -> str:
    return f"nps:{{{tenant_id}}}:"


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


def row_keys(
    tenant_id: UUID, gen: int, *, survey_id: UUID, local_date: date, segments: dict[str, str]
) -> list[str]:
    """Every counter hash an answer counts in: (survey, all) x (day, month) x (_, segments)."""
    segs = [NO_SEGMENT, *(segment(d, v) for d, v in segments.items())]
    buckets = (day_key(local_date), month_key(local_date.year, local_date.month))
    return [
        hist_key(tenant_id, gen, scope, bucket, seg)
        for scope in (str(survey_id), ALL_SURVEYS)
        for bucket in buckets
        for seg in segs
    ]


class ApplyPlan:
    """KEYS and ARGV of apply.lua: per writing transaction, its deltas summed per key and bin.

    Rows of one transaction are always applied together, so the transaction id is the unit
    remembered in the applied set, and a batch of answers costs one HINCRBY per distinct
    (key, score) instead of one per answer.
    """

    def __init__(self, tenant_id: UUID, gen: int) -> None:
        self.tenant_id, self.gen = tenant_id, gen
        self.keys = [meta_key(tenant_id), applied_key(tenant_id, gen)]
        self._index: dict[str, int] = {}
        self._groups: dict[str, dict[tuple[int, int], int]] = {}
        self._sets: set[tuple[int, str]] = set()

    def _key(self, name: str) -> int:
        if name not in self._index:
            self.keys.append(name)
            self._index[name] = len(self.keys)
        return self._index[name]

    def add(self, row: OutboxRow) -> None:
        deltas = self._groups.setdefault(row.xid, {})
        t, g = self.tenant_id, self.gen
        for name in row_keys(
            t, g, survey_id=row.survey_id, local_date=row.local_date, segments=row.segments
        ):
            slot = (self._key(name), row.score)
            deltas[slot] = deltas.get(slot, 0) + row.delta
        for dimension, value in row.segments.items():
            self._sets.add((self._key(dims_key(t, g)), dimension))
            self._sets.add((self._key(values_key(t, g, dimension)), value))

    def argv(self, state: str) -> list[str | int]:
        args: list[str | int] = [state, self.gen, len(self._groups)]
        for xid, deltas in self._groups.items():
            ops = [x for (key, score), d in deltas.items() if d for x in (key, score, d)]
            args += [xid, len(ops) // 3, *ops]
        args.append(len(self._sets))
        args += [x for pair in sorted(self._sets) for x in pair]
        return args
