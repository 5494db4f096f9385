"""Tenants and API keys on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from api.schemas.common import TEXT, Name, SegmentName, Wire
from domain.browser import MAX_ORIGINS
from domain.model import MAX_SEGMENTS, ApiKey, CallerKind, Scope, SurveyGrant, Tenant
from domain.ratelimit import DefaultLimits
from domain.tenants import KeySpec

Origin = Annotated[
    str,
    msgspec.Meta(
        max_length=300,
        pattern=TEXT,
        description="an exact web origin: scheme://host[:port], no path",
        examples=["https://shop.example"],
    ),
]
Origins = Annotated[list[Origin], msgspec.Meta(max_length=MAX_ORIGINS)]

Quota = Annotated[
    int, msgspec.Meta(ge=1, le=10_000_000, description="units per window; null: the default")
]
Window = Annotated[int, msgspec.Meta(ge=1, le=86_400, description="seconds; null: the default")]


class TenantCreate(Wire):
    name: Name
    timezone: Annotated[
        str, msgspec.Meta(max_length=64, pattern=TEXT, description="IANA time zone")
    ] = "UTC"


class RateLimitsPatch(Wire):
    """Fields left out keep their value; null brings one back to the service default."""

    per_key: Quota | msgspec.UnsetType | None = msgspec.UNSET
    per_tenant: Quota | msgspec.UnsetType | None = msgspec.UNSET
    window_s: Window | msgspec.UnsetType | None = msgspec.UNSET

    def changes(self) -> dict[str, int | None]:
        return {
            f: getattr(self, f)
            for f in self.__struct_fields__
            if getattr(self, f) is not msgspec.UNSET
        }


class TenantUpdate(Wire):
    rate_limits: RateLimitsPatch


class RateLimitsOut(msgspec.Struct, frozen=True, kw_only=True):
    """The limits in force: each key may spend `per_key` units per `window_s` seconds,
    all keys of the tenant together `per_tenant` (one unit per request, one per answer
    of a batch)."""

    per_key: int
    per_tenant: int
    window_s: int
    custom: bool  # true when the operator set any of them for this tenant


class TenantOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    timezone: str
    created_at: datetime
    rate_limits: RateLimitsOut


class TenantList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[TenantOut]
    next_cursor: str | None


class SurveyGrantWire(Wire):
    """A survey a publishable key may record answers to, and what a web page may send."""

    survey_id: UUID
    segments: Annotated[
        list[SegmentName],
        msgspec.Meta(
            max_length=MAX_SEGMENTS, description="segment keys a web page may send (default none)"
        ),
    ] = []
    customer_id: Annotated[
        bool, msgspec.Meta(description="whether a web page may send a customer_id")
    ] = False


class KeyCreate(Wire):
    """A secret key (`nps_…`, scopes) or a publishable key (`pk_…`, surveys and origins)."""

    name: Name
    kind: Literal["secret", "publishable"] = "secret"
    scopes: Annotated[
        list[Scope],
        msgspec.Meta(max_length=3, description="required for a secret key"),
    ] = []
    surveys: Annotated[
        list[SurveyGrantWire],
        msgspec.Meta(max_length=50, description="publishable keys only: at least one"),
    ] = []
    origins: Annotated[
        Origins, msgspec.Meta(description="publishable keys only: the pages' web origins")
    ] = []

    def to_domain(self) -> KeySpec:
        return KeySpec(
            name=self.name,
            kind=CallerKind(self.kind),
            scopes=tuple(self.scopes),
            surveys=tuple(
                SurveyGrant(
                    survey_id=g.survey_id, segments=tuple(g.segments), customer_id=g.customer_id
                )
                for g in self.surveys
            ),
            origins=tuple(self.origins),
        )


class SurveyGrantOut(msgspec.Struct, frozen=True, kw_only=True):
    survey_id: UUID
    segments: list[str]
    customer_id: bool


class KeyCreated(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    kind: Literal["secret", "publishable"]
    scopes: list[Scope]
    surveys: list[SurveyGrantOut]
    origins: list[str]
    created_at: datetime
    key: str = msgspec.field()


def tenant_out(t: Tenant, defaults: DefaultLimits) -> TenantOut:
    limits = defaults.effective(t.limits)
    return TenantOut(
        id=t.id,
        name=t.name,
        timezone=t.timezone,
        created_at=t.created_at,
        rate_limits=RateLimitsOut(
            per_key=limits.per_key,
            per_tenant=limits.per_tenant,
            window_s=limits.window_s,
            custom=t.limits.custom,
        ),
    )


class KeyOut(msgspec.Struct, frozen=True, kw_only=True):
    """A key as listed: never its secret text."""

    id: UUID
    name: str
    kind: Literal["secret", "publishable"]
    scopes: list[Scope]
    surveys: list[SurveyGrantOut]
    origins: list[str]
    created_at: datetime
    revoked_at: datetime | None


class KeyList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[KeyOut]
    next_cursor: str | None


def key_out(k: ApiKey) -> KeyOut:
    created = key_created(k, "")
    return KeyOut(
        **{f: getattr(created, f) for f in KeyOut.__struct_fields__ if f != "revoked_at"},
        revoked_at=k.revoked_at,
    )


def key_created(k: ApiKey, secret_key: str) -> KeyCreated:
    return KeyCreated(
        id=k.id,
        name=k.name,
        kind="publishable" if k.kind is CallerKind.PUBLISHABLE else "secret",
        scopes=list(k.scopes),
        surveys=[
            SurveyGrantOut(
                survey_id=g.survey_id, segments=list(g.segments), customer_id=g.customer_id
            )
            for g in k.surveys
        ],
        origins=list(k.origins),
        created_at=k.created_at,
        key=secret_key,
    )
