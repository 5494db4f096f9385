"""Request bodies in the spec as StrictBody reads them: closed objects, whole segment maps.

Wire types forbid unknown fields (a 422), but Litestar documents them as open objects; and
it drops the key pattern, the size and the value rules of a segment map. This pass states
both, so that a body valid by the spec is a body the service accepts.
"""

from __future__ import annotations

import msgspec
from litestar.openapi.spec import OpenAPI, OpenAPIType, Schema

from api.params import DIMENSION
from api.schemas.common import TEXT, Wire
from domain.model import MAX_SEGMENT_VALUE, MAX_SEGMENTS

# List fields whose items the service takes at most once (domain.followups.update_settings).
_UNIQUE_ITEMS = {("SettingsUpdate", "followup_categories")}


def _wire_types(cls: type[Wire] = Wire) -> dict[str, type[Wire]]:
    found = {}
    for sub in cls.__subclasses__():
        found[sub.__name__] = sub
        found.update(_wire_types(sub))
    return found


def _segments(description: str | None) -> Schema:
    return Schema(
        type=OpenAPIType.OBJECT,
        max_properties=MAX_SEGMENTS,
        property_names=Schema(type=OpenAPIType.STRING, pattern=DIMENSION),
        additional_properties=Schema(
            type=OpenAPIType.STRING, min_length=1, max_length=MAX_SEGMENT_VALUE, pattern=TEXT
        ),
        description=description,
    )


def _bare(kind: object) -> object:
    while isinstance(kind, msgspec.inspect.Metadata):
        kind = kind.type
    return kind


def _string_items(cls: type[Wire]) -> dict[str, msgspec.inspect.StrType]:
    """Fields that are lists of constrained strings (Litestar drops the item's rules)."""
    found = {}
    for field in msgspec.inspect.type_info(cls).fields:  # type: ignore[attr-defined]
        kind = _bare(field.type)
        for option in getattr(kind, "types", (kind,)):
            listed = _bare(option)
            if isinstance(listed, msgspec.inspect.ListType):
                item = _bare(listed.item_type)
                if isinstance(item, msgspec.inspect.StrType) and item.pattern:
                    found[field.encode_name] = item
    return found


def _state_items(schema: Schema, item: msgspec.inspect.StrType) -> None:
    for alternative in [schema, *(schema.one_of or [])]:
        if isinstance(alternative, Schema) and isinstance(alternative.items, Schema):
            alternative.items.pattern = item.pattern
            alternative.items.min_length = item.min_length
            alternative.items.max_length = item.max_length


def document_bodies(spec: OpenAPI) -> OpenAPI:
    """Close every request body object; state the rules of its segment map."""
    schemas = spec.components.schemas if spec.components else None
    for name in _wire_types():
        schema = (schemas or {}).get(name)
        if not isinstance(schema, Schema):
            continue
        schema.additional_properties = False  # forbid_unknown_fields=True
        for field, item in _string_items(_wire_types()[name]).items():
            listed = (schema.properties or {}).get(field)
            if isinstance(listed, Schema):
                _state_items(listed, item)
        for body, field in _UNIQUE_ITEMS:
            listed = (schema.properties or {}).get(field) if body == name else None
            if isinstance(listed, Schema):
                listed.unique_items = True
        segments = (schema.properties or {}).get("segments")
        if isinstance(segments, Schema) and segments.type == OpenAPIType.OBJECT:
            schema.properties["segments"] = _segments(segments.description)  # type: ignore[index]
    return spec
