"""Parameters in the spec as the handlers read them: formats, patterns, no `null`.

Dates, instants, segment filters and customer ids arrive as text and are checked by
api.params (so a 422 names the parameter); Litestar documents them as bare strings, and a
`{customer_id:path}` as `format: uri`. This pass states what the handlers accept. An
optional query parameter is absent or has a value, never JSON `null`: the `null`
alternative Litestar adds for `X | None` is dropped.
"""

from __future__ import annotations

import dataclasses

from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIFormat,
    OpenAPIType,
    Parameter,
    Reference,
    Schema,
)

from api.openapi_responses import operations
from api.params import DATE, DIMENSION, INSTANT, MAX_SEGMENT_FILTERS
from api.schemas.common import SEGMENT_FILTER, TEXT

# The patterns api.params and the wire types check, so a generated valid value is accepted.
_DIMENSION = DIMENSION
_FILTER = SEGMENT_FILTER


def _date(text: str) -> Schema:
    return Schema(
        type=OpenAPIType.STRING, format=OpenAPIFormat.DATE, pattern=DATE, description=text
    )


def _filter(text: str) -> Schema:
    return Schema(type=OpenAPIType.STRING, pattern=_FILTER, description=text)


_DATES = {  # query parameters read by api.params.parse_date, with a default description
    "from": "First day (local date)",
    "to": "Last day (inclusive)",
    "date": "A local date (YYYY-MM-DD)",
}
_SCHEMAS: dict[tuple[str, str], Schema] = {
    ("query", "a_from"): _date("First day of period a (local date, inclusive)"),
    ("query", "a_to"): _date("Last day of period a (inclusive)"),
    ("query", "b_from"): _date("First day of period b (local date, inclusive)"),
    ("query", "b_to"): _date("Last day of period b (inclusive)"),
    ("query", "date"): _date("A day (local date, YYYY-MM-DD) of the period; default today"),
    ("query", "a_segment"): _filter("`dimension:value` of side a"),
    ("query", "b_segment"): _filter("`dimension:value` of side b"),
    ("query", "dimension"): Schema(
        type=OpenAPIType.STRING, pattern=_DIMENSION, description="A segment dimension"
    ),
    ("query", "updated_since"): Schema(
        type=OpenAPIType.STRING,
        format=OpenAPIFormat.DATE_TIME,
        pattern=INSTANT,
        description="RFC 3339 instant with offset (`Z` or `+hh:mm`)",
    ),
    ("path", "customer_id"): Schema(
        type=OpenAPIType.STRING,
        min_length=1,
        max_length=255,
        pattern=TEXT,
        description="The customer id as sent on answers (percent-encoded; may contain `/`)",
    ),
}


def _without_null(schema: Schema) -> Schema | Reference:
    alternatives = [
        s for s in schema.one_of or [] if not (isinstance(s, Schema) and s.type == "null")
    ]
    if schema.one_of is None or len(alternatives) != 1:
        return schema
    only = alternatives[0]
    if not isinstance(only, Schema):
        return only
    only.description = only.description or schema.description
    for name in ("max_length", "min_length", "pattern", "default"):
        if getattr(only, name) is None and getattr(schema, name) is not None:
            setattr(only, name, getattr(schema, name))
    return only


def _documented(param: Parameter) -> Schema | Reference | None:
    schema = param.schema if isinstance(param.schema, Schema) else None
    plain = _without_null(schema) if schema is not None else None
    text = schema.description if schema is not None else None
    fixed = _SCHEMAS.get((param.param_in, param.name))
    if param.name in _DATES and param.param_in == "query":
        fixed = _date(text or _DATES[param.name])
    if isinstance(plain, Schema) and plain.type == OpenAPIType.ARRAY:
        if param.name == "segment":
            fixed = Schema(type=OpenAPIType.STRING, pattern=_FILTER)
            plain.max_items = MAX_SEGMENT_FILTERS
        if fixed is not None:  # a repeatable parameter: each value is checked alike
            plain.items = dataclasses.replace(fixed, description=None)
        return plain
    if fixed is not None:
        return dataclasses.replace(fixed)
    return plain


def document_parameters(spec: OpenAPI) -> OpenAPI:
    """Rewrite the schema of every operation's parameters in place."""
    for op in operations(spec):
        for param in op.parameters or []:
            if isinstance(param, Parameter):
                param.schema = _documented(param) or param.schema
    return spec
