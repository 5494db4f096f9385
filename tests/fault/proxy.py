"""A TCP proxy that can cut or freeze the path to a server, as a network or a stopped
process would: cut closes every connection and refuses new ones; freeze accepts and holds
connections but passes no byte until restored (a SIGSTOPped server or a dead route).

It runs its own event loop in a thread, so that it keeps working whatever the test's loop
does (the in-process test client blocks it while the app starts)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

CHUNK = 65536
Pair = tuple[asyncio.StreamWriter, asyncio.StreamWriter]


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, unix_path: str | None = None) -> None:
        self._target = (target_host, target_port)
        self._unix_path = unix_path  # the upstream is a Unix socket (embedded PostgreSQL)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()  # both ways; new connections wait for it too
        self._replies = asyncio.Event()  # server to client only
        self._cut = False
        self._conns: set[Pair] = set()
        self._pumps: set[asyncio.Future[None]] = set()
        self.port = 0

    @classmethod
    def for_url(cls, url: str) -> TcpProxy:
        """A proxy to the PostgreSQL server of `url`: its TCP address, or the Unix socket that
        a `host=/dir` query names (the embedded server of `make test` without test URLs)."""
        parts = urlsplit(url)
        port = parts.port or 5432
        socket_dir = dict(parse_qsl(parts.query)).get("host", "")
        unix_path = f"{socket_dir}/.s.PGSQL.{port}" if socket_dir.startswith("/") else None
        return cls(parts.hostname or "127.0.0.1", port, unix_path=unix_path)

    def url(self, url: str) -> str:
        """`url` with its host and port replaced by the proxy's (a socket `host` dropped)."""
        parts = urlsplit(url)
        auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "host"])
        return urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{self.port}", query=query))

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._start)
        return self

    def stop(self) -> None:
        self._call(self._stop)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def freeze(self) -> None:
        self._run(self._flowing.clear)

    def freeze_replies(self) -> None:
        """Let requests reach the server but hold every byte it sends back."""
        self._run(self._replies.clear)

    def cut(self) -> None:
        self._run(self._cut_all)

    def restore(self) -> None:
        def restore() -> None:
            self._cut = False
            self._flowing.set()
            self._replies.set()

        self._run(restore)

    # --- inside the proxy's loop ------------------------------------------------------

    def _run(self, fn: Callable[[], None]) -> None:
        async def run() -> None:
            fn()

        self._call(run)

    def _call(self, coro_fn: Callable[[], object]) -> None:
        asyncio.run_coroutine_threadsafe(coro_fn(), self._loop).result(timeout=10)  # type: ignore[arg-type]

    async def _start(self) -> None:
        self._flowing.set()
        self._replies.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        self._cut_all()
        if self._server is not None:
            self._server.close()

    def _cut_all(self) -> None:
        self._cut = True
        self._flowing.set()
        self._replies.set()
        for pair in list(self._conns):
            for writer in pair:
                writer.transport.abort()
        self._conns.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._flowing.wait()  # frozen: the connection is held, as the kernel would
        if self._cut:
            writer.transport.abort()
            return
        try:
            if self._unix_path is not None:
                up_reader, up_writer = await asyncio.open_unix_connection(self._unix_path)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._conns.add(pair)
        for src, dst, gate in ((reader, up_writer, None), (up_reader, writer, self._replies)):
            pump = asyncio.ensure_future(self._pump(src, dst, pair, gate))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    async def _pump(
        self,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        pair: Pair,
        gate: asyncio.Event | None,
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                data = await src.read(CHUNK)
                await self._flowing.wait()
                if gate is not None:
                    await gate.wait()
                if not data or self._cut:
                    break
                dst.write(data)
                await dst.drain()
        self._conns.discard(pair)
        for writer in pair:
            writer.transport.abort()
