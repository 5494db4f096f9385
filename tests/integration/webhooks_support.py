"""Webhook tests: a real HTTP receiver on 127.0.0.1 that answers as told, and API helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.postgres.uow import PgUnitOfWorkFactory
from infra.webhooks.relay import WebhookRelay


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """`status`, `headers` and `hang` decide the next answers; `received` lists requests."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    close_without_answer: bool = False
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self, tls: ssl.SSLContext | None = None) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        for task in list(self._handlers):
            with contextlib.suppress(BaseException):
                await task

    async def wait_for(self, count: int) -> None:
        """Until `count` requests arrived (callers bound it with asyncio.timeout)."""
        while len(self.received) < count:
            self._arrived.clear()
            await self._arrived.wait()

    def ids(self, where: Callable[[Received], bool] = lambda r: True) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received if where(r)]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.received.append(Received(path=path, headers=headers, body=body))
            self._arrived.set()
            if self.hang:
                await asyncio.sleep(3600)
            if self.close_without_answer:
                return
            extra = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
            writer.write(
                f"HTTP/1.1 {self.status} Answer\r\nContent-Length: 2\r\n{extra}"
                "Connection: close\r\n\r\nok".encode()
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self._handlers.discard(task)


def relay(pool, **kw) -> WebhookRelay:  # type: ignore[no-untyped-def]
    options = {"allow_private": True, "timeout": 0.5, "rand": lambda: 0.5} | kw
    return WebhookRelay(PgUnitOfWorkFactory(pool), **options)


async def make_hook(client, tenant, receiver, events=("webhook.test",), path="/hook") -> dict:  # type: ignore[no-untyped-def]
    r = await client.post(
        "/v1/webhooks",
        json={"url": receiver.url(path), "events": list(events)},
        headers=tenant.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def send_test(client, tenant, hook) -> dict:  # type: ignore[no-untyped-def]
    r = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=tenant.headers)
    assert r.status_code == 202, r.text
    return dict(r.json())


async def deliveries(client, tenant, hook) -> list[dict]:  # type: ignore[no-untyped-def]
    r = await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=tenant.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def make_due(pool, hook) -> None:  # type: ignore[no-untyped-def]
    """Time travel: the endpoint's pending deliveries are due now."""
    await pool.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = now() WHERE endpoint_id = $1"
        " AND status = 'pending'",
        uuid.UUID(hook["id"]),
    )
