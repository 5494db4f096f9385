"""Opaque keyset cursors: base64url of a small JSON array of the last row's sort key."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TypeVar

import msgspec

from domain.errors import InvalidInput
from domain.model import Page

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")


def encode_cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(values)).decode().rstrip("=")


def decode_cursor(cursor: str, shape: type[T]) -> T:
    """Decode a cursor into `shape` (a tuple type); any tampering gives a 422 on `cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=shape)
    except (binascii.Error, ValueError, msgspec.DecodeError, msgspec.ValidationError):
        raise InvalidInput.field("cursor", "is not a cursor this API returned") from None


def after_key(cursor: str | None, shape: type[tuple[A, B]]) -> tuple[A | None, B | None]:
    """The sort key a page continues after ((None, None) for the first page)."""
    return decode_cursor(cursor, shape) if cursor else (None, None)


def keyset_page(items: list[T], limit: int, key: Callable[[T], tuple[object, ...]]) -> Page[T]:
    """The first `limit` items (fetched with limit + 1) and, when there are more, the cursor
    past the last one."""
    more = len(items) > limit
    items = items[:limit]
    return Page(items=items, next_cursor=encode_cursor(*key(items[-1])) if more else None)
