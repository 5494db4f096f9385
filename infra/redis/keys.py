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


class ApplyPlan:
    """KEYS and ARGV of apply.lua: per writing transaction, its deltas summed per key and bin.

    Rows of one transaction are always applied together, so the transaction id is the unit
    remembered in the applied set, and a batch of answers costs one HINCRBY per distinct
    (key, score) instead of one per answer. An answer counts in (survey, all) x (day, month)
    x (no segment, each of its segments); the key indices of each (survey, day, segment) are
    worked out once per plan, as a batch repeats them over and over.
    """

    def __init__(self, tenant_id: UUID, gen: int) -> None:
        self.tenant_id, self.gen = tenant_id, gen
        self.keys = [meta_key(tenant_id), applied_key(tenant_id, gen)]
        self._index: dict[str, int] = {}
        self._groups: dict[str, dict[tuple[int, int], int]] = {}
        self._sets: set[tuple[int, str]] = set()
        self._hist = f"{gen_prefix(tenant_id, gen)}h:"
        self._bases: dict[tuple[UUID, date], list[str]] = {}
        self._slots: dict[tuple[UUID, date, str], list[int]] = {}
        self._dims = -1
        self._values: dict[str, int] = {}

    def _key(self, name: str) -> int:
        if name not in self._index:
            self.keys.append(name)
            self._index[name] = len(self.keys)
        return self._index[name]

    def _indices(self, survey_id: UUID, day: date, seg: str) -> list[int]:
        where = (survey_id, day)
        bases = self._bases.get(where)
        if bases is None:
            buckets = (day_key(day), month_key(day.year, day.month))
            bases = [
                f"{self._hist}{scope}:{bucket}:"
                for scope in (str(survey_id), ALL_SURVEYS)
                for bucket in buckets
            ]
            self._bases[where] = bases
        indices = [self._key(base + seg) for base in bases]
        self._slots[(survey_id, day, seg)] = indices
        return indices

    def add(self, row: OutboxRow) -> None:
        deltas = self._groups.setdefault(row.xid, {})
        score, delta = row.score, row.delta
        survey_id, day = row.survey_id, row.local_date
        for seg in (NO_SEGMENT, *(segment(d, v) for d, v in row.segments.items())):
            indices = self._slots.get((survey_id, day, seg)) or self._indices(survey_id, day, seg)
            for i in indices:
                slot = (i, score)
                deltas[slot] = deltas.get(slot, 0) + delta
        for dimension, value in row.segments.items():
            if self._dims < 0:
                self._dims = self._key(dims_key(self.tenant_id, self.gen))
            self._sets.add((self._dims, dimension))
            values = self._values.get(dimension)
            if values is None:
                values = self._values[dimension] = self._key(
                    values_key(self.tenant_id, self.gen, dimension)
                )
            self._sets.add((values, value))

    def argv(self, state: str) -> list[str | int]:
        args: list[str | int] = [state, self.gen, len(self._groups)]
        for xid, deltas in self._groups.items():
            ops = [x for (key, score), d in deltas.items() if d for x in (key, score, d)]
            args += [xid, len(ops) // 3, *ops]
        args.append(len(self._sets))
        args += [x for pair in sorted(self._sets) for x in pair]
        return args
