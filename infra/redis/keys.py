"""Counter key layout: every key of a tenant shares the `{tenant}` hash tag (one cluster slot).

    nps:{T}:meta                                hash: state (ready|rebuilding), gen
    nps:{T}:g<gen>:h:<survey|all>:<bucket>:<seg> hash: "0".."10" -> answers with that score
    nps:{T}:g<gen>:dims                         set of dimension names seen
    nps:{T}:g<gen>:v:<dim>                      set of values seen for a dimension
    nps:{T}:g<gen>:applied                      set of outbox ids applied to that generation

bucket is a local day `d20261122` or month `m202611`; seg is `_` or `<dimension>=<value>`.
"""

from __future__ import annotations

from uuid import UUID

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
