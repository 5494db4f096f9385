"""Query parameters that need more than a type: local dates, periods, segment filters."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated
from uuid import UUID

from litestar.params import QueryParameter

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

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="page size, 1 to 500")]
Cursor = Annotated[
    str | None, QueryParameter(description="`next_cursor` of the previous page (opaque)")
]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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
        raise InvalidInput.field(field, f"'{value}' is not a date (YYYY-MM-DD)") from None


def parse_period(
    start: str | None, end: str | None, *, today: date, names: tuple[str, str] = ("from", "to")
) -> tuple[date, date]:
    """Inclusive local dates; default: the 30 days ending today in the tenant's zone."""
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
        segments=parse_segments(segments),
    )


def today_for(principal: Principal, now: datetime) -> date:
    return local_date(now, principal.timezone)
