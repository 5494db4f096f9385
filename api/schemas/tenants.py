"""Tenants and API keys on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from api.schemas.common import Name, Wire
from domain.model import ApiKey, Scope, Tenant


class TenantCreate(Wire):
    name: Name
    timezone: Annotated[str, msgspec.Meta(max_length=64, description="IANA time zone")] = "UTC"


class TenantOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    timezone: str
    created_at: datetime


class TenantList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[TenantOut]
    next_cursor: str | None


class KeyCreate(Wire):
    name: Name
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=3)]


class KeyCreated(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    scopes: list[Scope]
    created_at: datetime
    key: str = msgspec.field()


def tenant_out(t: Tenant) -> TenantOut:
    return TenantOut(id=t.id, name=t.name, timezone=t.timezone, created_at=t.created_at)


def key_created(k: ApiKey, secret_key: str) -> KeyCreated:
    return KeyCreated(
        id=k.id, name=k.name, scopes=list(k.scopes), created_at=k.created_at, key=secret_key
    )
