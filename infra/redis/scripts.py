"""The counters' Lua scripts, run by EVALSHA and loaded again when the server lost them.

A script made with `shared_calls=True` sends the calls that arrive while one of its round
trips is under way together, in the next EVALSHA. Each call is still run as itself, one
after the other in order of arrival, and answered as if it had been sent alone, but the
process pays one round trip for all of them (the client's work per round trip is a large
part of a request's). A call waits at most for the round trip under way; alone, it goes at
once. It is sent after it arrived, so a read still sees every write answered before it was
asked. Two differences from calls sent alone:
- a script error (a bug, not an outage) fails every call of its round trip, and those run
  before it in the trip may already have written (Redis does not undo a script's writes);
- when a round trip finds Redis down (a connection error or a timeout), the calls waiting
  for the next one fail at once with the same error instead of one timeout each.
On a Redis Cluster the calls that share a round trip are those of one hash tag (one slot).
Used for the calls made on every request (the rate limiter's check, the period read),
small and many; not for breakdowns, whose one call may hold Redis for long.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from infra.outage import REDIS_DOWN
from infra.redis.client import RedisClient
from infra.tasks import stop

MAX_SHARED_CALLS = 64  # calls in one EVALSHA at most: bounds the time it holds Redis

# The calls of one round trip: KEYS holds every call's keys, ARGV per call its number of
# keys, its number of arguments, then its arguments; the answer is one per call. The
# script's text becomes the body of `run`, whose parameters KEYS and ARGV hide the globals.
_SHARED = """local function run(KEYS, ARGV)
{body}
end
local answers, k, a = {{}}, 0, 1
while a <= #ARGV do
  local nkeys, nargs = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local keys, args = {{}}, {{}}
  for i = 1, nkeys do keys[i] = KEYS[k + i] end
  for i = 1, nargs do args[i] = ARGV[a + 1 + i] end
  local answer = run(keys, args)
  if answer == nil then answer = false end
  answers[#answers + 1] = answer
  k, a = k + nkeys, a + 2 + nargs
end
return answers
"""


def _lua(name: str) -> str:
    return resources.files("infra.redis").joinpath("lua", name).read_text()


def hash_tag(key: str) -> str:
    """The part of a key between its first `{` and the next `}`: what picks its slot."""
    start = key.find("{")
    end = key.find("}", start + 1)
    return key[start + 1 : end] if start >= 0 and end > start + 1 else key


class _Loaded:
    """Lua text run by EVALSHA, loaded again when the server lost it."""

    def __init__(self, redis: RedisClient, text: str) -> None:
        self.redis = redis
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    async def run(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await self.redis.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:  # a restarted or flushed server: load it, then run it again
            self.sha = await self.redis.script_load(self.text)
            return await self.redis.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)


class Script:
    """One script of infra/redis/lua. redis-py's own Script object does the same with more
    work per call (a type check of its client, two tuple copies, one more wrapper): a read
    is one script call, so that work is a visible part of its time."""

    def __init__(
        self,
        redis: RedisClient,
        name: str,
        *,
        after: str | None = None,
        prelude: str = "",
        shared_calls: bool = False,
    ) -> None:
        """The script infra/redis/lua/<name>, put after the shared chunk `after` if any
        (Redis scripts cannot load one another), both after `prelude` (Lua text that
        defines names the scripts use, such as the counter layout's)."""
        body = "\n".join(_lua(n) for n in (after, name) if n is not None)
        self._alone = _Loaded(redis, prelude + body)
        self._shared: _SharedCalls | None = None
        if shared_calls:
            wrapped = _Loaded(redis, prelude + "\n" + _SHARED.format(body=body))
            self._shared = _SharedCalls(wrapped, per_tag=isinstance(redis, RedisCluster))

    async def __call__(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        if self._shared is not None:
            return await self._shared.call(keys, args)
        return await self._alone.run(keys, args)

    async def close(self) -> None:
        """Stop the round trips under way (their callers are cancelled with them)."""
        if self._shared is not None:
            await self._shared.close()


@dataclass(eq=False)
class _Call:
    keys: Sequence[str]
    args: Sequence[Any]
    answer: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class _SharedCalls:
    """The calls of one script that share round trips (see the module's docstring)."""

    def __init__(self, wrapped: _Loaded, *, per_tag: bool) -> None:
        self._wrapped = wrapped  # the script as the body of _SHARED
        self._per_tag = per_tag
        # Per group of calls that may share a round trip (all, or one hash tag's on a
        # cluster): present while a round trip is under way, holding the calls for the next.
        self._waiting: dict[str, list[_Call]] = {}
        self._trips: set[asyncio.Task[None]] = set()

    async def call(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        call = _Call(keys, args)
        group = hash_tag(keys[0]) if self._per_tag and keys else ""
        waiting = self._waiting.get(group)
        if waiting is not None:  # a round trip is under way: go with the next one
            waiting.append(call)
        else:
            self._waiting[group] = []
            trip = asyncio.get_running_loop().create_task(self._trips_for(group, [call]))
            self._trips.add(trip)
            trip.add_done_callback(self._trips.discard)
        return await call.answer

    async def close(self) -> None:
        await stop(self._trips)

    async def _trips_for(self, group: str, calls: list[_Call]) -> None:
        """Send `calls`, then those that arrived meanwhile, until none wait."""
        try:
            while calls:
                trip, calls = calls[:MAX_SHARED_CALLS], calls[MAX_SHARED_CALLS:]
                down = await self._trip(trip)
                calls += self._waiting[group]
                self._waiting[group] = []
                if down is not None:  # Redis is away: those waiting would wait for nothing
                    _failed(calls, down)
                    calls = []
        except asyncio.CancelledError:  # the service stops
            for call in calls + self._waiting.get(group, []):
                call.answer.cancel()
            raise
        finally:
            self._waiting.pop(group, None)

    async def _trip(self, calls: list[_Call]) -> BaseException | None:
        """Send one round trip; the error when it found Redis down (REDIS_DOWN)."""
        keys: list[str] = []
        args: list[Any] = []
        for call in calls:
            keys += call.keys
            args += [len(call.keys), len(call.args), *call.args]
        try:
            answers = await self._wrapped.run(keys, args)
        except asyncio.CancelledError:
            for call in calls:
                call.answer.cancel()
            raise
        except Exception as exc:  # every call of the trip fails as it would have alone
            _failed(calls, exc)
            return exc if isinstance(exc, REDIS_DOWN) else None
        for call, answer in zip(calls, answers, strict=True):
            if not call.answer.done():  # its caller may have gone (a cancelled request)
                call.answer.set_result(answer)
        return None


def _failed(calls: list[_Call], exc: BaseException) -> None:
    for call in calls:
        if not call.answer.done():
            call.answer.set_exception(exc)
