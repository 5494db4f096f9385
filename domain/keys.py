"""API key format and hashing: `nps_<tenant hex>_<key id hex>_<secret>`; only hashes are kept.

Publishable keys read `pk_…` instead, so that a secret key stands out wherever it leaks.
"""

from __future__ import annotations

import hashlib
import secrets
from uuid import UUID

import msgspec

PREFIX = "nps_"
PUBLISHABLE_PREFIX = "pk_"


class ParsedKey(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: UUID
    key_id: UUID
    secret: str
    publishable: bool = False


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def format_key(*, tenant_id: UUID, key_id: UUID, secret: str, publishable: bool = False) -> str:
    prefix = PUBLISHABLE_PREFIX if publishable else PREFIX
    return f"{prefix}{tenant_id.hex}_{key_id.hex}_{secret}"


def parse_key(token: str) -> ParsedKey | None:
    """The parts of a well-formed key, or None."""
    publishable = token.startswith(PUBLISHABLE_PREFIX)
    if not publishable and not token.startswith(PREFIX):
        return None
    prefix = PUBLISHABLE_PREFIX if publishable else PREFIX
    parts = token[len(prefix) :].split("_", 2)
    if len(parts) != 3 or len(parts[0]) != 32 or len(parts[1]) != 32 or not parts[2]:
        return None
    try:
        return ParsedKey(
            tenant_id=UUID(hex=parts[0]),
            key_id=UUID(hex=parts[1]),
            secret=parts[2],
            publishable=publishable,
        )
    except ValueError:
        return None


def hash_secret(secret: str) -> bytes:
    """Keys are 256-bit random, so one SHA-256 is enough (no slow KDF needed)."""
    return hashlib.sha256(secret.encode()).digest()
