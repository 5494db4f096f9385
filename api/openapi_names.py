"""Schema names in the spec that client generators accept: one name per title.

When two types share a name (`Trend` of NPS over time, `Trend` of a customer), Litestar
keys them by module path (`api_schemas_results_Trend`) but keeps the bare `title`, and
generators that name types by title refuse the pair. The wire type of api.schemas, when
there is one, gets the bare name back; each other is named by its module's last part and
its name (`CustomersTrend`), references included.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar.openapi.spec import OpenAPI, Reference, Schema

_PREFIX = "#/components/schemas/"


def _new_names(schemas: dict[str, Any]) -> dict[str, str]:
    clashes: dict[str, list[str]] = {}
    for key, schema in schemas.items():
        title = schema.title if isinstance(schema, Schema) else None
        if title and key != title and key.endswith("_" + title):
            clashes.setdefault(title, []).append(key)
    renamed = {}
    for title, keys in clashes.items():
        wire = [k for k in keys if k.startswith("api_schemas_")]
        for key in keys:
            owner = key.removesuffix("_" + title).rsplit("_", 1)[-1]
            renamed[key] = title if wire == [key] else owner.capitalize() + title
    assert len(set(renamed.values())) == len(renamed), renamed
    assert not set(renamed.values()) & set(schemas), renamed
    return renamed


def _rewrite(node: Any, refs: dict[str, str], seen: set[int]) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, Reference) and node.ref in refs:
        node.ref = refs[node.ref]
    elif dataclasses.is_dataclass(node):
        for field in dataclasses.fields(node):
            _rewrite(getattr(node, field.name), refs, seen)
    elif isinstance(node, dict):
        for value in node.values():
            _rewrite(value, refs, seen)
    elif isinstance(node, list | tuple):
        for value in node:
            _rewrite(value, refs, seen)


def name_schemas_uniquely(spec: OpenAPI) -> OpenAPI:
    """Rename module-keyed schemas in place (keys, titles and every `$ref`)."""
    schemas = spec.components.schemas if spec.components else None
    if not schemas:
        return spec
    renamed = _new_names(schemas)
    for old, new in renamed.items():
        schemas[new] = schemas.pop(old)
        schemas[new].title = new
    _rewrite(spec, {_PREFIX + old: _PREFIX + new for old, new in renamed.items()}, set())
    spec.components.schemas = dict(sorted(schemas.items()))  # type: ignore[union-attr]
    return spec
