"""Target checks: a webhook URL must resolve to public addresses only (unless allowed)."""

from __future__ import annotations

import asyncio
import socket

from domain.errors import InvalidInput
from domain.webhook_signing import address_allowed, check_url


class TargetRefused(Exception):
    """The target cannot be sent to: unresolvable, or a non-public address."""


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (getaddrinfo), in resolver order, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def allowed_addresses(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses to connect to; every one must be public unless `allow_private`."""
    try:
        addresses = await resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"the host '{host}' does not resolve") from exc
    if not addresses:
        raise TargetRefused(f"the host '{host}' does not resolve")
    if not allow_private:
        refused = [a for a in addresses if not address_allowed(a)]
        if refused:
            raise TargetRefused(
                f"'{host}' resolves to a private, loopback or link-local address ({refused[0]})"
            )
    return addresses


class DnsTargetGuard:
    """The API's check of webhook URLs; the relay checks again at send time (DNS rebinding)."""

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private

    async def check(self, url: str) -> None:
        host, port = check_url(url)
        if self._allow_private:
            return
        try:
            await allowed_addresses(host, port, allow_private=False)
        except TargetRefused as exc:
            raise InvalidInput.field("url", str(exc)) from None
