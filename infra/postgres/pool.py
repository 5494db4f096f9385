"""asyncpg pool with msgspec-backed jsonb codecs."""

from __future__ import annotations

import asyncpg
import msgspec

_decode = msgspec.json.decode
_encode = msgspec.json.encode


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
    and releases its session advisory locks itself, so nothing else needs resetting.
    """


async def create_pool(dsn: str, *, size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min(2, size),
        max_size=size,
        init=init_connection,
        reset=_keep_session,
        command_timeout=60,
    )
    assert pool is not None
    return pool


async def connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn)
    await init_connection(conn)
    return conn
