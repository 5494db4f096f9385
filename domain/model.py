"""Entities and value objects of the NPS service."""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from typing import Generic, TypeVar
from uuid import UUID

import msgspec

from domain.ratelimit import TenantLimits

SEGMENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_SEGMENTS = 10
MAX_SEGMENT_VALUE = 100
MAX_COMMENT = 5000
MAX_PAGE = 500
DEFAULT_PAGE = 50

T = TypeVar("T")


class Scope(enum.StrEnum):
    RESPONSES_WRITE = "responses:write"
    RESULTS_READ = "results:read"
    MANAGE = "manage"


class CallerKind(enum.StrEnum):
    """Secret keys stay on servers; publishable keys and browser tokens may reach web pages."""

    SECRET = "secret"
    PUBLISHABLE = "publishable"
    TOKEN = "token"


class SurveyGrant(msgspec.Struct, frozen=True, kw_only=True):
    """What a publishable key may record for one survey: the segment keys and customer id
    a web page may send (anything else is refused, so a page cannot invent segments)."""

    survey_id: UUID
    segments: tuple[str, ...] = ()
    customer_id: bool = False


class SurveyKind(enum.StrEnum):
    RELATIONAL = "relational"
    TRANSACTIONAL = "transactional"


class Tenant(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    timezone: str
    created_at: datetime
    limits: TenantLimits = TenantLimits()  # the operator's rate limit overrides


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    tenant_id: UUID
    name: str
    scopes: tuple[Scope, ...]
    created_at: datetime
    revoked_at: datetime | None = None
    kind: CallerKind = CallerKind.SECRET
    surveys: tuple[SurveyGrant, ...] = ()
    origins: tuple[str, ...] = ()


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: the tenant behind an API key, with its scopes and time zone.

    Publishable keys carry their survey grants, browser tokens their fixed segment (if
    any); both carry the web origins allowed to use them. `key_id` of a token is its
    issuing key.
    """

    tenant_id: UUID
    key_id: UUID
    scopes: frozenset[Scope]
    timezone: str
    kind: CallerKind = CallerKind.SECRET
    surveys: tuple[SurveyGrant, ...] = ()
    origins: frozenset[str] = frozenset()
    segment: SegmentFilter | None = None
    limits: TenantLimits | None = None  # the tenant's rate limit overrides, None: defaults


class Survey(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    tenant_id: UUID
    name: str
    question: str | None
    kind: SurveyKind
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None = None


class SurveyResponse(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One stored answer; `local_date` is its day in the tenant's zone (the counter bucket).

    gc=False (like the other per-answer structs of the write path): it holds only values
    and a dict of strings, so it can never be part of a reference cycle, and a batch of
    1000 answers no longer feeds the cycle collector thousands of objects to scan
    (measured: collector time per batch answer 2.4-3.0 -> 1.1-1.5 µs).
    """

    id: UUID
    tenant_id: UUID
    survey_id: UUID
    score: int
    comment: str | None
    customer_id: str | None
    segments: dict[str, str]
    answered_at: datetime
    received_at: datetime
    local_date: date
    locale: str | None = None
    external_id: str | None = None
    excluded: bool = False
    exclusion_reason: str | None = None


class Page(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """One page of a collection and the opaque cursor of the next (None at the end)."""

    items: list[T]
    next_cursor: str | None


class SegmentFilter(msgspec.Struct, frozen=True, kw_only=True):
    dimension: str
    value: str


class ResultQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Which answers a result counts: one survey or all, inclusive local dates, AND-ed segments."""

    tenant_id: UUID
    survey_id: UUID | None
    start: date
    end: date
    segments: tuple[SegmentFilter, ...] = ()
