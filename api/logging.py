"""structlog set-up (JSON lines or console) and one log line per request, whatever its end.

`request_logging` wraps the whole application (see api.app), outside Litestar's routing
and exception handling, so 401, 403, 404 of an unknown path, 405 and 500 answers are logged
with their real status and carry `x-request-id` like every other answer. A line names the
route template (`/v1/customers/{customer_id}`), never the path or the query: ids, comments
and keys stay out of the logs.
"""

from __future__ import annotations

import logging
import random
import re
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from domain.model import Principal

log = structlog.get_logger("nps.access")
ERROR_KEY = "nps_error"  # scope key: (error id, error type, where) of an unhandled error
_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,64}")  # visible ASCII, as a header value can echo
_OUR_PACKAGES = ("api", "domain", "infra")


def _json(event: Any, **_: Any) -> str:
    return msgspec.json.encode(event, enc_hook=str).decode()


class UtcTimeStamper:
    """structlog's `TimeStamper(fmt="iso", utc=True)`, the same text at a third of the cost:
    the date and time to the second are formatted once per second, not on every line (the
    access line runs on every request; its stamp was the costliest of its processors)."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, _logger: Any, _method: str, event_dict: Any) -> Any:
        second, micro = divmod(time.time_ns() // 1000, 1_000_000)
        if second != self._second:
            self._prefix = datetime.fromtimestamp(second, UTC).isoformat()[:19]
            self._second = second
        # isoformat() leaves out a zero fraction; structlog writes the offset as Z
        event_dict["timestamp"] = f"{self._prefix}.{micro:06d}Z" if micro else f"{self._prefix}Z"
        return event_dict


def configure_logging(*, level: str = "info", fmt: str = "json") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_json)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            UtcTimeStamper(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        cache_logger_on_first_use=True,
    )


def new_id() -> str:
    return f"{random.getrandbits(64):016x}"  # unique enough, no syscall


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":  # the first one, if usable
            m = _REQUEST_ID.fullmatch(value[:64])
            return m.group().decode() if m else new_id()
    return new_id()


def where(exc: BaseException) -> str:
    """Where an error was raised and the project's frames it went through, without values."""
    tb = traceback.extract_tb(exc.__traceback__)
    frames = [f for f in tb if any(f"/{p}/" in f.filename for p in _OUR_PACKAGES)][-5:]
    if tb and (not frames or frames[-1] is not tb[-1]):
        frames.append(tb[-1])  # the innermost frame, even outside the project
    return " < ".join(
        f"{'/'.join(f.filename.split('/')[-2:])}:{f.lineno}" for f in reversed(frames)
    )


def record_error(scope: Scope, exc: BaseException) -> str:
    """Note an unhandled error for the request's log line; returns its error id."""
    error_id = new_id()
    scope[ERROR_KEY] = (error_id, type(exc).__name__, where(exc))  # type: ignore[literal-required]
    return error_id


_FALLBACK_500 = (
    b'{"type":"urn:nps-api:problem:internal-error","title":"Internal Server Error",'
    b'"status":500,"detail":"an unexpected error occurred; it has been logged","error_id":"%s"}'
)


# Told of every answer (method, route template or None, status, seconds): the metrics.
ResponseObserver = Callable[[str, str | None, int, float], None]


def request_logging(app: ASGIApp, *, observe: ResponseObserver | None = None) -> ASGIApp:
    """ASGI wrapper: request id in and out, then one line: route, status, tenant, duration.

    `observe` is given the same method, route, status and duration as the line.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request_id = _request_id(scope)
        header = (b"x-request-id", request_id.encode())
        status = 0
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await app(scope, receive, send_wrapper)
        except Exception as exc:  # escaped every handler: still one line and a 500
            error_id = record_error(scope, exc)
            if status == 0:
                await send_wrapper(_start_500())
                await send(
                    {"type": "http.response.body", "body": _FALLBACK_500 % error_id.encode()}
                )
            status = status or 500
        finally:
            _log_request(scope, status or 500, started, observe)
            structlog.contextvars.clear_contextvars()

    return middleware


def _start_500() -> Message:
    return {
        "type": "http.response.start",
        "status": 500,
        "headers": [(b"content-type", b"application/problem+json")],
    }


def _log_request(
    scope: Scope, status: int, started: float, observe: ResponseObserver | None
) -> None:
    seconds = time.perf_counter() - started
    user = scope.get("user")
    method, route = scope.get("method", ""), scope.get("path_template") or None
    if observe is not None:
        observe(method, route, status, seconds)
    fields: dict[str, Any] = {
        "method": method,
        "route": route,  # None: no route matched the path
        "status": status,
        "tenant_id": str(user.tenant_id) if isinstance(user, Principal) else None,
        "duration_ms": round(seconds * 1000, 2),
    }
    error = scope.get(ERROR_KEY)
    if error is not None:
        fields |= dict(zip(("error_id", "error", "where"), error, strict=True))
        log.error("request", **fields)
    elif status >= 500:
        log.error("request", **fields)
    else:
        log.info("request", **fields)
