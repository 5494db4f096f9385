"""infra.tasks.stop: background tasks end even when a cancellation is lost, within a bound."""

from __future__ import annotations

import asyncio
import time

from infra.tasks import stop


async def loop_that_loses_cancellations(lost: list[int]) -> None:
    """Runs until cancelled, but the first `lost[0]` cancellations vanish, as one does when
    it reaches Python 3.11's asyncio.wait_for just as the wrapped send completes."""
    while True:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            if lost[0] == 0:
                raise
            lost[0] -= 1


async def test_a_task_that_lost_its_cancellation_is_cancelled_again_until_it_ends() -> None:
    task = asyncio.create_task(loop_that_loses_cancellations([2]))
    await asyncio.sleep(0.02)
    left = await stop([task], within_s=5.0)
    assert left == set() and task.cancelled()


async def test_a_task_that_never_ends_is_left_behind_after_the_bound() -> None:
    lost = [10**9]
    task = asyncio.create_task(loop_that_loses_cancellations(lost))
    await asyncio.sleep(0.02)  # started (a task cancelled before its first step just ends)
    started = time.monotonic()
    left = await stop([task], within_s=0.3)
    assert left == {task} and not task.done()
    assert time.monotonic() - started < 1.0
    lost[0] = 0  # let it end, so that it does not outlive the test
    assert await stop([task]) == set()


async def test_finished_tasks_and_an_empty_list_return_at_once() -> None:
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    assert await stop([done]) == set()
    assert await stop([]) == set()
