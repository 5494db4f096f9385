"""Webhook signing (Standard Webhooks v1), secrets, retry schedule and target URL rules."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Callable, Sequence
from datetime import timedelta
from urllib.parse import urlsplit

from domain.errors import InvalidInput

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_URL = 2048

# Delay before retry n (after the n-th failed attempt): 1 + 7 = 8 attempts, the last one
# about 23.6 h after the first (each delay jittered by +-20 %, so 18.9 h to 28.3 h).
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=8),
    timedelta(hours=8),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.2
MAX_RETRY_AFTER = timedelta(hours=6)  # a receiver's Retry-After is honoured up to this
FAILING_DISABLES_AFTER = timedelta(hours=24)  # an endpoint failing this long is disabled
ROTATION_OVERLAP = timedelta(hours=24)  # the old secret keeps signing this long
HISTORY = timedelta(days=30)  # finished events, deliveries and attempts are kept this long


def new_secret() -> str:
    """`whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key: the base64-decoded part after `whsec_`."""
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError("not a webhook secret") from exc


def sign(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Sequence[str], *, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,` signature per active secret, space separated (two during a rotation)."""
    return " ".join(sign(s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets_)


def verify(secret: str, *, msg_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """What a receiver does: any of the header's v1 signatures matches (constant time)."""
    expected = sign(secret, msg_id=msg_id, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, given) for given in header.split(" ") if given)


def retry_delay(failed_attempts: int, *, rand: Callable[[], float]) -> timedelta | None:
    """Wait before the next attempt after `failed_attempts` failures; None: give up.

    `rand` returns a float in [0, 1) (random.random): the delay is scaled by 0.8 to 1.2.
    """
    if failed_attempts < 1 or failed_attempts > len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[failed_attempts - 1]
    return base * (1 - JITTER + 2 * JITTER * rand())


def next_delay(
    failed_attempts: int, *, retry_after: timedelta | None, rand: Callable[[], float]
) -> timedelta | None:
    """The backoff delay, but never sooner than the receiver's Retry-After (capped)."""
    delay = retry_delay(failed_attempts, rand=rand)
    if delay is None or retry_after is None:
        return delay
    return max(delay, min(retry_after, MAX_RETRY_AFTER))


def check_url(url: str) -> tuple[str, int]:
    """(host, port) of an acceptable target URL; else InvalidInput naming `url`."""

    def bad(message: str) -> InvalidInput:
        return InvalidInput.field("url", message)

    if len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise bad("must be an absolute http(s) URL without spaces, at most 2048 characters")
    if not url.isascii():
        raise bad("must be ASCII: percent-encode the path, write the host in punycode (xn--)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad("is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise bad("must use http or https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise bad("must not contain user information")
    if not parts.hostname:
        raise bad("must name a host")
    if parts.fragment:
        raise bad("must not contain a fragment")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def address_allowed(address: str) -> bool:
    """Only public unicast addresses: no private, loopback, link-local, reserved or multicast."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
