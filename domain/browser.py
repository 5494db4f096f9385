"""The browser channel: web origins, what a publishable key may record, browser tokens.

A browser token is `nbt_<payload>.<signature>`: the payload (base64url JSON) names the
tenant, the issuing key, the scopes, the fixed segment, the origins and the expiry; the
signature is HMAC-SHA256 over it with a server secret, so checking a token needs no
database. Whether the issuing key is still live is checked apart (see authenticate_token).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from domain.errors import Forbidden, InvalidInput
from domain.model import CallerKind, Principal, Scope, SegmentFilter, SurveyGrant
from domain.responses import NewResponse

TOKEN_PREFIX = "nbt_"
MAX_TOKEN_TTL = timedelta(hours=1)
MIN_TOKEN_TTL = timedelta(seconds=30)
TOKEN_SCOPES = frozenset({Scope.RESULTS_READ})
PUBLISHABLE_MAX_BODY = 8 * 1024
MAX_ORIGINS = 20
_ORIGIN = re.compile(
    r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?$"
)


def check_origins(origins: Sequence[str], *, field: str = "origins") -> tuple[str, ...]:
    """Exact web origins (`https://shop.example`, `http://127.0.0.1:8080`): no path, no `*`."""
    if not 1 <= len(origins) <= MAX_ORIGINS:
        raise InvalidInput.field(field, f"give 1 to {MAX_ORIGINS} origins")
    for i, origin in enumerate(origins):
        if not _ORIGIN.match(origin):
            raise InvalidInput.field(
                f"{field}[{i}]",
                f"'{origin}' is not a web origin (scheme://host[:port] in lower case, no path)",
            )
    return tuple(dict.fromkeys(origins))


def grant_for(principal: Principal, survey_id: UUID) -> SurveyGrant:
    for grant in principal.surveys:
        if grant.survey_id == survey_id:
            return grant
    raise Forbidden("this publishable key may not record answers to that survey")


def check_publishable_response(answer: NewResponse, principal: Principal) -> None:
    """A web page may only send the customer id and segment keys its survey allows."""
    grant = grant_for(principal, answer.survey_id)
    if answer.customer_id is not None and not grant.customer_id:
        raise Forbidden("customer_id is not allowed for this survey with a publishable key")
    for name in answer.segments:
        if name not in grant.segments:
            raise Forbidden(f"segment '{name}' is not allowed for this survey's publishable key")
    if answer.external_id is not None:
        raise Forbidden("external_id is not allowed with a publishable key (use Idempotency-Key)")
    if answer.answered_at is not None:
        raise Forbidden("answered_at is not allowed with a publishable key: the server stamps it")


def restrict_segments(
    principal: Principal, filters: tuple[SegmentFilter, ...]
) -> tuple[SegmentFilter, ...]:
    """The filters of a token with a fixed segment: that segment added, any other refused."""
    fixed = principal.segment
    if fixed is None:
        return filters
    for f in filters:
        if f.dimension == fixed.dimension and f.value != fixed.value:
            raise Forbidden(f"this token may only read segment {fixed.dimension}:{fixed.value}")
    if fixed in filters:
        return filters
    return (*filters, fixed)


class TokenClaims(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: UUID
    key_id: UUID
    scopes: list[Scope]
    origins: list[str]
    timezone: str
    expires: int  # Unix seconds
    segment: SegmentFilter | None = None

    def principal(self) -> Principal:
        return Principal(
            tenant_id=self.tenant_id,
            key_id=self.key_id,
            scopes=frozenset(self.scopes),
            timezone=self.timezone,
            kind=CallerKind.TOKEN,
            origins=frozenset(self.origins),
            segment=self.segment,
        )


def token_secret(seed: bytes) -> bytes:
    """The signing secret derived from a server secret (never the secret itself)."""
    return hmac.new(seed, b"nps browser tokens v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_token(claims: TokenClaims, secret: bytes) -> str:
    payload = _b64(msgspec.json.encode(claims))
    signature = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    return f"{TOKEN_PREFIX}{payload}.{_b64(signature)}"


def verify_token(token: str, secret: bytes, now: datetime) -> TokenClaims | None:
    """The claims of a well-signed, unexpired token, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 4096:
        return None
    payload, _, signature = token[len(TOKEN_PREFIX) :].partition(".")
    expected = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(signature), expected):
            return None
        claims = msgspec.json.decode(_unb64(payload), type=TokenClaims)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        return None
    return claims if claims.expires > now.timestamp() else None


def token_claims(
    issuer: Principal,
    *,
    scopes: Sequence[Scope],
    ttl: timedelta,
    origins: Sequence[str],
    segment: SegmentFilter | None,
    now: datetime,
) -> TokenClaims:
    """The claims of a new token: read scopes the issuer holds, at most one hour."""
    if not MIN_TOKEN_TTL <= ttl <= MAX_TOKEN_TTL:
        raise InvalidInput.field("ttl_seconds", "must be between 30 and 3600 seconds")
    for i, scope in enumerate(scopes):
        if scope not in TOKEN_SCOPES:
            raise InvalidInput.field(f"scopes[{i}]", "a browser token carries read scopes only")
        if scope not in issuer.scopes:
            raise Forbidden(f"the issuing key lacks the scope '{scope}'")
    return TokenClaims(
        tenant_id=issuer.tenant_id,
        key_id=issuer.key_id,
        scopes=sorted(set(scopes)),
        origins=list(check_origins(origins)),
        timezone=issuer.timezone,
        expires=int((now + ttl).timestamp()),
        segment=segment,
    )
