"""Which errors mean "a server we depend on is down, frozen or overloaded", not a bug.

The composition root answers these 503 with Retry-After (api.errors); the write path turns
them into domain.errors.Unavailable saying whether anything was stored.
"""

from __future__ import annotations

import asyncpg
import redis.exceptions
from asyncpg.exceptions import (
    AdminShutdownError,
    CannotConnectNowError,
    CrashShutdownError,
    IdleSessionTimeoutError,
    QueryCanceledError,
    TooManyConnectionsError,
)

# The statement timed out or the connection broke: PostgreSQL did not answer in time.
POSTGRES_DOWN: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,  # connect, pool wait or statement given up by the client
    asyncpg.PostgresConnectionError,  # lost mid-statement
    asyncpg.InterfaceError,  # used after the connection was closed
    QueryCanceledError,  # statement_timeout
    AdminShutdownError,
    CrashShutdownError,
    CannotConnectNowError,  # starting up or shutting down
    TooManyConnectionsError,
    IdleSessionTimeoutError,
)
# Caller mistakes that asyncpg files under InterfaceError: they are bugs, not outages.
NOT_AN_OUTAGE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.DataError,
    asyncpg.exceptions.ClientConfigurationError,
)
# redis-py wraps socket errors and its timeouts in these (BusyLoadingError included).
REDIS_DOWN: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
DEPENDENCY_DOWN = POSTGRES_DOWN + REDIS_DOWN


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, DEPENDENCY_DOWN) and not isinstance(exc, NOT_AN_OUTAGE)
