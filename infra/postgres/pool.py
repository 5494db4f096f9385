"""asyncpg pool with msgspec-backed jsonb codecs, and bounded waits on every call.

Every wait on PostgreSQL has a bound: opening a connection and waiting for a pooled one
(`connect_timeout`), and each statement (`statement_timeout`: the server cancels a statement
that runs longer, and the client gives up on a server that does not answer at all). A
connection whose statement outlived its timeout is closed at once instead of being
cancelled, since a cancel request would wait on the same silent server.

Behind a pooler in transaction mode (`transaction_pooler`, NPS_DATABASE_POOLER=transaction)
a client connection is lent a server connection per transaction, so nothing may outlive a
transaction on the server: asyncpg's statement cache (named prepared statements) is off, and
`statement_timeout` is not sent as a startup parameter (PgBouncer refuses those it does not
know); the server-side limit then comes from the role or database
(`ALTER ROLE ... SET statement_timeout`), the client-side bound stays.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
import structlog
from asyncpg.transaction import Transaction

_decode = msgspec.json.decode
_encode = msgspec.json.encode
CONNECT_TIMEOUT_S = 2.0
STATEMENT_TIMEOUT_S = 3.0
# The client waits this much longer than the server's statement_timeout, so that a server
# that is alive cancels the statement itself (QueryCanceledError) and the connection stays.
CLIENT_MARGIN_S = 0.5

log = structlog.get_logger()


def _jsonb_encode(value: object) -> bytes:
    return b"\x01" + _encode(value)


def _jsonb_decode(data: bytes) -> object:
    return _decode(data[1:])


def _json_encode(value: object) -> bytes:
    """json parameters: bytes are sent as they are (a document encoded once by the caller)."""
    return value if isinstance(value, bytes) else _encode(value)


async def init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "json", encoder=_json_encode, decoder=_decode, schema="pg_catalog", format="binary"
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's RESET ALL round trip.

    asyncpg still rolls back an open transaction first; our code sets no session state
    and takes only transaction-level advisory locks, so nothing else needs resetting.
    """


def _session_options(statement_timeout: float, *, transaction_pooler: bool) -> dict[str, Any]:
    """What each new connection carries for its whole life (see the module doc)."""
    if transaction_pooler:
        return {"statement_cache_size": 0}
    return {
        "statement_cache_size": 100,
        "server_settings": {"statement_timeout": str(int(statement_timeout * 1000))},
    }


class BoundedConnection(asyncpg.Connection):  # type: ignore[misc]
    """A statement given up on (timed out or cancelled) closes its connection at once.

    asyncpg would send a cancel request on a second connection and wait for the server to
    acknowledge it; a frozen or unreachable server answers neither, and the connection's
    release would hang. The server ends the statement itself (statement_timeout).
    """

    _begin_tail: str | None = None

    def _cancel_current_command(self, waiter: Any, cancel_waiter: Any = None) -> None:
        # After asyncpg's own bookkeeping of the cancel (it runs right after this returns).
        self._loop.call_soon(self.terminate)

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:  # noqa: ASYNC109 - asyncpg's signature
        if self._begin_tail is not None and not args and query.startswith("BEGIN"):
            query += self._begin_tail  # see begin_for_tenant
        result: str = await super().execute(query, *args, timeout=timeout)
        return result

    async def begin_for_tenant(self, tenant_id: UUID) -> Transaction:
        """A transaction whose tenant (row-level security) is set by its own BEGIN message.

        asyncpg's BEGIN goes out as a simple query; `SET LOCAL` (set_config(..., true): it
        ends with the transaction) rides in the same message, so setting the tenant costs no
        round trip of its own (measured: BEGIN 51 us, with SET LOCAL 57 us, with a SELECT
        set_config 80 us, a separate round trip about 50 us more). The transaction is
        asyncpg's own, so savepoints inside it work as usual. A UUID's text is safe to inline.
        """
        tx: Transaction = self.transaction()
        self._begin_tail = f" SET LOCAL nps.tenant_id = '{UUID(str(tenant_id))}';"
        try:
            await tx.start()
        finally:
            self._begin_tail = None
        return tx


class BoundedPool(asyncpg.Pool):  # type: ignore[misc]
    """acquire() waits at most `acquire_timeout` unless told otherwise."""

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self._acquire_timeout if timeout is None else timeout)

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:  # noqa: ASYNC109 - asyncpg's signature
        try:
            await super().release(connection, timeout=timeout)
        except asyncpg.InternalClientError:
            # A connection closed by BoundedConnection while its release was starting: the
            # close already returned it to the pool.
            if connection._holder._in_use is not None:
                raise


async def create_pool(
    dsn: str,
    *,
    size: int = 10,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    statement_timeout: float = STATEMENT_TIMEOUT_S,
    transaction_pooler: bool = False,
    user: str | None = None,
    password: str | None = None,
) -> asyncpg.Pool:
    """`user` and `password`, when given, replace the URL's (the restricted tenant role)."""
    login = {} if user is None else {"user": user, "password": password}
    pool = BoundedPool(
        dsn,
        min_size=min(2, size),
        max_size=size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        init=init_connection,
        reset=_keep_session,
        loop=None,
        connection_class=BoundedConnection,
        record_class=asyncpg.Record,
        acquire_timeout=connect_timeout,
        timeout=connect_timeout,
        command_timeout=statement_timeout + CLIENT_MARGIN_S,
        **_session_options(statement_timeout, transaction_pooler=transaction_pooler),
        **login,
    )
    await pool
    return pool


async def connect(
    dsn: str, *, connect_timeout: float = CONNECT_TIMEOUT_S, transaction_pooler: bool = False
) -> asyncpg.Connection:
    """One connection without a statement timeout of its own (migrations)."""
    conn = await asyncpg.connect(
        dsn, timeout=connect_timeout, statement_cache_size=0 if transaction_pooler else 100
    )
    await init_connection(conn)
    return conn


async def without_statement_timeout(conn: asyncpg.Connection) -> None:
    """Lift the server's statement_timeout for the rest of the caller's transaction."""
    await conn.execute("SET LOCAL statement_timeout = 0")


async def server_cursor(
    conn: asyncpg.Connection, query: str, *args: object, prefetch: int
) -> AsyncIterator[asyncpg.Record]:
    """Rows through a server-side cursor in the caller's transaction.

    asyncpg names a cursor's prepared statement from a per-process counter even without a
    statement cache, and closes it only before some later statement: behind a transaction
    pooler that may reach another server connection, leaving the statement where another
    process's statement of the same name would collide with it. Here the name is unique and
    the statement is deallocated in the same transaction (an abandoned stream leaves it, by
    its unique name, until the server connection closes).
    """
    name = f"nps_cursor_{uuid.uuid4().hex}"
    statement = await conn.prepare(query, name=name)
    async for row in statement.cursor(*args, prefetch=prefetch):
        yield row
    await conn.execute(f'DEALLOCATE "{name}"')


async def close_pool(pool: asyncpg.Pool, *, within_s: float = 5.0) -> None:
    """Close gracefully, or cut the connections when that does not end in time.

    A graceful close waits for each connection's goodbye to the server; on a busy or
    unreachable server that can time out, and stopping must not fail on it.
    """
    try:
        await asyncio.wait_for(pool.close(), within_s)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        log.warning("pool_close_cut", within_s=within_s)
        pool.terminate()
