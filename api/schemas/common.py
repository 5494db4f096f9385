"""Shared wire types and constraints."""

from __future__ import annotations

from typing import Annotated

import msgspec

from domain.model import MAX_COMMENT, MAX_SEGMENT_VALUE, MAX_SEGMENTS

# PostgreSQL text cannot hold U+0000 (NUL): every string that is stored or searched says so.
TEXT = "^[^\\u0000]*$"
# A segment filter, "dimension:value" (api.params.parse_segment reads it).
SEGMENT_FILTER = "^[a-z][a-z0-9_]{0,39}:[^\\u0000]{1,100}$"
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=TEXT)]
SegmentName = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="dimension name")
]
SegmentValue = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_SEGMENT_VALUE, pattern=TEXT)
]
Segments = Annotated[
    dict[SegmentName, SegmentValue],
    msgspec.Meta(
        max_length=MAX_SEGMENTS,
        description="segment attributes (team, region, product line…): at most 10",
        examples=[{"team": "support", "region": "emea"}],
    ),
]
Score = Annotated[int, msgspec.Meta(ge=0, le=10, description="0 to 10: how likely to recommend")]
Comment = Annotated[str, msgspec.Meta(max_length=MAX_COMMENT, pattern=TEXT)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=TEXT)]


class Wire(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of request bodies: unknown fields are rejected."""
