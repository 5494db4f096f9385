"""A minimal HTTP/1.1 POST client on asyncio streams, for webhook deliveries.

It connects to addresses the caller has already checked (no second DNS look-up that
could be rebound), sends one request with `Connection: close` and reads the status line
and headers only (the body is discarded). The caller bounds the whole with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import msgspec

USER_AGENT = "nps-api-webhooks/1.0"
MAX_HEADER_LINES = 100
MAX_LINE = 8192


class HttpResult(msgspec.Struct, frozen=True, kw_only=True):
    status: int
    retry_after: str | None = None


class InvalidResponse(Exception):
    """The receiver did not answer with an HTTP/1.x status line and headers."""


def _request(url: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [
        f"POST {target} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"User-Agent: {USER_AGENT}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _connect(
    addresses: Sequence[str], port: int, host: str, tls: ssl.SSLContext | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    last: OSError | None = None
    for address in addresses:
        try:
            return await asyncio.open_connection(
                address,
                port,
                ssl=tls,
                server_hostname=host if tls else None,
                limit=MAX_LINE,
            )
        except OSError as exc:  # the next address may answer
            last = exc
    assert last is not None
    raise last


async def _read_head(reader: asyncio.StreamReader) -> HttpResult:
    try:
        status_line = (await reader.readuntil(b"\r\n")).decode("latin-1")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise InvalidResponse("no HTTP status line") from exc
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise InvalidResponse("no HTTP status line")
    retry_after = None
    for _ in range(MAX_HEADER_LINES):
        try:
            line = (await reader.readuntil(b"\r\n")).decode("latin-1").strip()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            break  # the status is what matters
        if not line:
            break
        name, _, value = line.partition(":")
        if name.strip().lower() == "retry-after":
            retry_after = value.strip()
    return HttpResult(status=int(code), retry_after=retry_after)


async def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    addresses: Sequence[str],
    tls: ssl.SSLContext | None = None,
) -> HttpResult:
    """POST `body` to `url` through one of `addresses`; raises OSError, ssl.SSLError or
    InvalidResponse when no status arrives. Callers bound it with `asyncio.timeout`.

    https verifies the certificate with `tls` (default: the system's trusted CAs).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    context = (tls or ssl.create_default_context()) if https else None
    reader, writer = await _connect(addresses, port, host, context)
    try:
        writer.write(_request(url, body, headers))
        await writer.drain()
        return await _read_head(reader)
    finally:
        # abort: the body is not read, and a graceful TLS close could wait on the peer
        writer.transport.abort()
        with contextlib.suppress(Exception):
            writer.close()


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """Retry-After as delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))
