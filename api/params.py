"""Query parameters that need more than a type: local dates, periods, segment filters."""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta
from typing import Annotated
from uuid import UUID

import msgspec
from litestar.openapi.spec.enums import OpenAPIFormat
from litestar.params import QueryParameter

from api.schemas.common import SEGMENT_FILTER, TEXT
from domain.browser import restrict_segments
from domain.errors import InvalidInput
from domain.model import (
    MAX_PAGE,
    MAX_SEGMENT_VALUE,
    SEGMENT_NAME,
    Principal,
    ResultQuery,
    SegmentFilter,
)
from domain.periods import default_period, local_date

# Days from 2000-01-01 to 2999-12-31: no NPS answer is older, and the calendar's ends
# (year 1, year 9999) have no local day in every zone.
DATE = r"^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
CURSOR = r"^[A-Za-z0-9_-]+$"  # unpadded base64url (infra.postgres.cursor)
DIMENSION = r"^[a-z][a-z0-9_]{0,39}$"
# RFC 3339 date-time (datetime.fromisoformat alone also takes "2026-01-01 10:00+02" and
# ignores a trailing NUL); the same years as DATE.
INSTANT = (
    r"^2[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]"
    r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="page size, 1 to 500")]
Cursor = Annotated[
    str | None,
    QueryParameter(
        pattern=CURSOR,
        max_length=2000,
        description="`next_cursor` of the previous page (opaque)",
    ),
]
SegmentQuery = Annotated[
    list[Annotated[str, msgspec.Meta(pattern=SEGMENT_FILTER)]] | None,
    QueryParameter(description="`dimension:value`; repeat to AND several (e.g. team:support)"),
]
Owner = Annotated[str | None, QueryParameter(pattern=TEXT, max_length=200)]
_DATE = re.compile(DATE)
_INSTANT = re.compile(INSTANT)


def date_query(description: str, *, name: str | None = None) -> QueryParameter:
    """A local date, YYYY-MM-DD, as a query parameter (parse_date reads it)."""
    return QueryParameter(
        name=name, pattern=DATE, format=OpenAPIFormat.DATE, description=description
    )


MAX_PERIOD_DAYS = 3660
MAX_SEGMENT_FILTERS = 10


def parse_date(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput.field(
            field, f"'{value}' is not a date from 2000-01-01 to 2999-12-31 (YYYY-MM-DD)"
        ) from None


def parse_instant(value: str | None, field: str) -> datetime | None:
    """An RFC 3339 instant with its offset (`Z` or `+02:00`)."""
    if value is None:
        return None
    try:
        if not _INSTANT.match(value):
            raise ValueError
        parsed = datetime.fromisoformat(value.upper())  # 3.11 reads only T and Z
    except ValueError:
        raise InvalidInput.field(field, f"'{value}' is not an RFC 3339 date-time") from None
    if parsed.tzinfo is None:
        raise InvalidInput.field(field, "needs an offset (Z or +hh:mm)")
    return parsed


def parse_period(
    start: str | None, end: str | None, *, today: date, names: tuple[str, str] = ("from", "to")
) -> tuple[date, date]:
    """Inclusive local dates; default: the 30 days ending today in the tenant's zone."""
    return _period(start, end, today, names)


@functools.lru_cache(maxsize=1024)  # dashboards ask for the same few periods over and over
def _period(
    start: str | None, end: str | None, today: date, names: tuple[str, str]
) -> tuple[date, date]:
    first, last = parse_date(start, names[0]), parse_date(end, names[1])
    default_first, default_last = default_period(today)
    if first is None and last is None:
        return default_first, default_last
    if first is None:
        assert last is not None
        first = last - timedelta(days=29)
    if last is None:
        last = max(today, first)
    if first > last:
        raise InvalidInput.field(names[0], f"must not be after '{names[1]}'")
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise InvalidInput.field(names[1], f"the period may span at most {MAX_PERIOD_DAYS} days")
    return first, last


@functools.lru_cache(maxsize=1024)  # dashboards filter on the same few segments
def parse_segment(value: str, field: str = "segment") -> SegmentFilter:
    dimension, sep, wanted = value.partition(":")
    if not sep or not SEGMENT_NAME.match(dimension):
        raise InvalidInput.field(field, f"'{value}' is not 'dimension:value'")
    if not 1 <= len(wanted) <= MAX_SEGMENT_VALUE:
        raise InvalidInput.field(field, "the value must have 1 to 100 characters")
    return SegmentFilter(dimension=dimension, value=wanted)


def parse_segments(values: list[str] | None) -> tuple[SegmentFilter, ...]:
    values = values or []
    if len(values) > MAX_SEGMENT_FILTERS:
        raise InvalidInput.field("segment", f"at most {MAX_SEGMENT_FILTERS} segment filters")
    filters = tuple(parse_segment(v) for v in values)
    if len({f.dimension for f in filters}) != len(filters):
        raise InvalidInput.field("segment", "each dimension may be filtered once")
    return filters


def parse_dimension(value: str) -> str:
    if not SEGMENT_NAME.match(value):
        raise InvalidInput.field("dimension", f"'{value}' is not a dimension name")
    return value


def result_query(
    principal: Principal,
    *,
    survey_id: UUID | None,
    start: str | None,
    end: str | None,
    segments: list[str] | None,
    today: date,
) -> ResultQuery:
    first, last = parse_period(start, end, today=today)
    return ResultQuery(
        tenant_id=principal.tenant_id,
        survey_id=survey_id,
        start=first,
        end=last,
        segments=restrict_segments(principal, parse_segments(segments)),
    )


def today_for(principal: Principal, now: datetime) -> date:
    return local_date(now, principal.timezone)


def compare_queries(
    principal: Principal,
    *,
    survey_id: UUID | None,
    segments: list[str] | None,
    periods: tuple[str | None, str | None, str | None, str | None],
    pair: tuple[str | None, str | None],
    period: tuple[str | None, str | None],
    today: date,
) -> tuple[ResultQuery, ResultQuery]:
    """The two sides of a comparison: two periods, or two segments on one period."""
    common = parse_segments(segments)
    compared = set()
    for name, side in zip(("a_segment", "b_segment"), pair, strict=True):
        if side is not None:  # a browser token may only compare within its own segment
            compared.add(restrict_segments(principal, (parse_segment(side, name),))[0].dimension)
    if principal.segment is not None and principal.segment.dimension not in compared:
        common = restrict_segments(principal, common)

    def query(start: date, end: date, extra: tuple[SegmentFilter, ...] = ()) -> ResultQuery:
        return ResultQuery(
            tenant_id=principal.tenant_id,
            survey_id=survey_id,
            start=start,
            end=end,
            segments=common + extra,
        )

    by_period, by_segment = any(v is not None for v in periods), any(v is not None for v in pair)
    if by_period and by_segment:
        raise InvalidInput.field("a_segment", "compare two periods or two segments, not both")
    if by_period:
        names = ("a_from", "a_to", "b_from", "b_to")
        for name, value in zip(names, periods, strict=True):
            if value is None:
                raise InvalidInput.field(name, "is required to compare two periods")
        a = parse_period(periods[0], periods[1], today=today, names=("a_from", "a_to"))
        b = parse_period(periods[2], periods[3], today=today, names=("b_from", "b_to"))
        return query(*a), query(*b)
    if by_segment:
        if pair[0] is None or pair[1] is None:
            raise InvalidInput.field(
                "a_segment" if pair[0] is None else "b_segment",
                "is required to compare two segments",
            )
        fa, fb = parse_segment(pair[0], "a_segment"), parse_segment(pair[1], "b_segment")
        if {fa.dimension, fb.dimension} & {f.dimension for f in common}:
            raise InvalidInput.field("segment", "filters the dimension that is compared")
        start, end = parse_period(period[0], period[1], today=today)
        return query(start, end, (fa,)), query(start, end, (fb,))
    raise InvalidInput.field(
        "a_from",
        "give two periods (a_from, a_to, b_from, b_to) or two segments (a_segment, b_segment)",
    )
