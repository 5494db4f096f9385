"""Browser tokens on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from api.schemas.common import Wire
from api.schemas.tenants import Origins
from domain.model import Scope


class TokenCreate(Wire):
    origins: Annotated[Origins, msgspec.Meta(min_length=1)]
    scopes: Annotated[
        list[Scope], msgspec.Meta(min_length=1, max_length=1, description="read scopes only")
    ] = msgspec.field(default_factory=lambda: [Scope.RESULTS_READ])
    ttl_seconds: Annotated[
        int, msgspec.Meta(ge=30, le=3600, description="lifetime, at most one hour")
    ] = 900
    segment: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=141,
                description="`dimension:value`: the token reads only this segment",
                examples=["team:support"],
            ),
        ]
        | None
    ) = None


class TokenOut(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    expires_at: datetime
    scopes: list[Scope]
    origins: list[str]
    segment: str | None
