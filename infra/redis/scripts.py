"""The counters' Lua scripts, run by EVALSHA and loaded again when the server lost them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources
from typing import Any

from redis.exceptions import NoScriptError

from infra.redis.client import RedisClient


def _lua(name: str) -> str:
    return resources.files("infra.redis").joinpath("lua", name).read_text()


class Script:
    """One script of infra/redis/lua. redis-py's own Script object does the same with more
    work per call (a type check of its client, two tuple copies, one more wrapper): a read
    is one script call, so that work is a visible part of its time."""

    def __init__(
        self, redis: RedisClient, name: str, *, after: str | None = None, prelude: str = ""
    ) -> None:
        """The script infra/redis/lua/<name>, put after the shared chunk `after` if any
        (Redis scripts cannot load one another), both after `prelude` (Lua text that
        defines names the scripts use, such as the counter layout's)."""
        self.redis = redis
        self.text = prelude + "\n".join(_lua(n) for n in (after, name) if n is not None)
        self.sha = hashlib.sha1(self.text.encode()).hexdigest()

    async def __call__(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await self.redis.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:  # a restarted or flushed server: load it, then run it again
            self.sha = await self.redis.script_load(self.text)
            return await self.redis.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
