"""Stopping background tasks for certain, within a bound.

One `Task.cancel()` is not always enough on Python 3.11: `asyncio.wait_for` (redis-py sends
every command through it) returns normally when the cancellation arrives just as the wrapped
send completes, so the cancellation is lost and a loop that runs until cancelled goes on.
Seen when Redis froze and came back: the drainer and the counter keeper outlived the API's
shutdown. `stop` cancels again until each task has ended, and gives up after `within_s`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import structlog

log = structlog.get_logger(__name__)
RECANCEL_EVERY_S = 0.5  # a task may take a moment to clean up after its first cancellation
STOP_WITHIN_S = 5.0  # what a background task gets to end when the API stops


async def stop(
    tasks: Iterable[asyncio.Task[Any]], *, within_s: float = STOP_WITHIN_S
) -> set[asyncio.Task[Any]]:
    """Cancel `tasks` and wait for them, cancelling again those that go on; return those
    still running after `within_s` (logged), which the caller leaves behind."""
    pending = {task for task in tasks if not task.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while pending:
        for task in pending:
            task.cancel()
        left = deadline - loop.time()
        if left <= 0:
            break
        _, pending = await asyncio.wait(pending, timeout=min(RECANCEL_EVERY_S, left))
    for task in pending:
        log.warning("task_not_stopped", task=task.get_name(), within_s=within_s)
    return pending
