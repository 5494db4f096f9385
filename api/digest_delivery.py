"""Scheduled digests: what the scheduler sends as `digest.ready`, wired from the services."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from api.schemas.digests import digest_out
from api.services import Services
from domain.digest import DigestPeriod, DigestPorts, RenderDigest, build_digest
from domain.periods import local_date


def digest_ports(s: Services) -> DigestPorts:
    return DigestPorts(
        uow=s.uow,
        counters=s.counters,
        stored_histograms=s.stored_histograms,
        target_cache=s.target_cache,
        analyzer=s.analyzer,
    )


def renderer(ports: DigestPorts) -> RenderDigest:
    """The event's `data`: the digest as GET /v1/digests/{period} returns it in JSON."""

    async def render(
        tenant_id: UUID,
        timezone: str,
        kind: DigestPeriod,
        day: date,
        dimensions: list[str],
        now: datetime,
    ) -> dict[str, Any]:
        got = await build_digest(
            kind,
            day,
            tenant_id=tenant_id,
            timezone=timezone,
            dimensions=dimensions,
            now=now,
            today=local_date(now, timezone),
            ports=ports,
        )
        data: dict[str, Any] = msgspec.to_builtins(digest_out(got))
        return data

    return render
