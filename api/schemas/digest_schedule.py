"""The digest schedule inside the tenant's settings (`PATCH /v1/settings`)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from api.schemas.common import Wire
from domain.digest import MAX_DIMENSIONS, DigestPeriod, DigestSchedule
from domain.model import SEGMENT_NAME

Dimension = Annotated[str, msgspec.Meta(pattern=SEGMENT_NAME.pattern, max_length=40)]


class DigestScheduleIn(Wire):
    """The whole schedule; fields left out take these defaults."""

    enabled: bool = True
    period: DigestPeriod = DigestPeriod.WEEK
    weekday: Annotated[int, msgspec.Meta(ge=1, le=7)] = 1  # ISO: 1 Monday .. 7 Sunday
    hour: Annotated[int, msgspec.Meta(ge=0, le=23)] = 8  # local hour of the tenant's zone
    dimensions: Annotated[list[Dimension], msgspec.Meta(max_length=MAX_DIMENSIONS)] = []


class DigestScheduleOut(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool
    period: DigestPeriod
    weekday: int
    hour: int
    dimensions: list[str]


def schedule_in(s: DigestScheduleIn) -> DigestSchedule:
    return DigestSchedule(
        enabled=s.enabled,
        period=s.period,
        weekday=s.weekday,
        hour=s.hour,
        dimensions=tuple(dict.fromkeys(s.dimensions)),
    )


def schedule_out(s: DigestSchedule) -> DigestScheduleOut:
    return DigestScheduleOut(
        enabled=s.enabled,
        period=s.period,
        weekday=s.weekday,
        hour=s.hour,
        dimensions=list(s.dimensions),
    )
