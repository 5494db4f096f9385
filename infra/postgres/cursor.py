"""Opaque keyset cursors: base64url of a small JSON array of the last row's sort key."""

from __future__ import annotations

import base64
import binascii
from typing import TypeVar

import msgspec

from domain.errors import InvalidInput

T = TypeVar("T")


def encode_cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(values)).decode().rstrip("=")


def decode_cursor(cursor: str, shape: type[T]) -> T:
    """Decode a cursor into `shape` (a tuple type); any tampering gives a 422 on `cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=shape)
    except (binascii.Error, ValueError, msgspec.DecodeError, msgspec.ValidationError):
        raise InvalidInput.field("cursor", "is not a cursor this API returned") from None
