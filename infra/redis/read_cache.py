"""Breakdowns kept per process and brought up to date from the counters' bucket versions.

A breakdown (one dimension's values over many buckets) is the most expensive read: 50
values over a year are some 2,000 hashes. Its buckets are read in groups: the older ones
together, each of the newest HOT_BUCKETS alone, since that is where new answers land.
Every apply bumps the version of each bucket it changes, and breakdown.lua sums a group
again only when the sum of its bucket versions moved. A cached group is therefore exact,
and under steady ingest a read sums only the newest bucket again.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date
from typing import Any

from domain.nps import Histogram
from domain.periods import bucket_keys

HOT_BUCKETS = 2
NO_VERSION = "-"

CacheKey = tuple[Any, ...]


@functools.lru_cache(maxsize=1024)  # reads ask for the same few periods over and over
def bucket_groups(start: date, end: date) -> tuple[str, ...]:
    """The period's buckets in groups, each group's names joined by commas."""
    keys = bucket_keys(start, end)
    older, newest = keys[:-HOT_BUCKETS], keys[-HOT_BUCKETS:]
    return (",".join(older), *newest) if older else tuple(newest)


class _Entry:
    __slots__ = ("gen", "parts", "versions")

    def __init__(self, gen: str, groups: int) -> None:
        self.gen = gen
        self.versions = [NO_VERSION] * groups
        self.parts: list[dict[str, Histogram]] = [{} for _ in range(groups)]


class BreakdownCache:
    """Per (tenant, scope, dimension, filter, period): each group's sums and version."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[CacheKey, _Entry] = OrderedDict()

    def args(self, key: CacheKey, groups: Sequence[str]) -> list[str]:
        """breakdown.lua's ARGV from the 6th on: the cached generation, then per group its
        buckets and the cached version."""
        entry = self._entries.get(key)
        versions = entry.versions if entry else [NO_VERSION] * len(groups)
        args = [entry.gen if entry else ""]
        for group, version in zip(groups, versions, strict=True):
            args += [group, version]
        return args

    def merge(self, key: CacheKey, groups: int, result: Sequence[Any]) -> dict[str, Histogram]:
        """Take breakdown.lua's answer (the groups that changed) and return every group's sum."""
        gen = result[1].decode()
        entry = self._entries.get(key)
        if entry is None or entry.gen != gen:
            entry = _Entry(gen, groups)
        i = 2
        while i < len(result):
            group, version, n = int(result[i]) - 1, result[i + 1].decode(), int(result[i + 2])
            i += 3
            part: dict[str, Histogram] = {}
            for _ in range(n):
                part[result[i].decode()] = tuple(int(x) for x in result[i + 1 : i + 12])
                i += 12
            entry.parts[group], entry.versions[group] = part, version
        if self.size > 0:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return _total(entry.parts)


def _total(parts: list[dict[str, Histogram]]) -> dict[str, Histogram]:
    if len(parts) == 1:
        return dict(parts[0])
    sums: dict[str, list[int]] = {}
    for part in parts:
        for value, bins in part.items():
            acc = sums.get(value)
            if acc is None:
                sums[value] = list(bins)
            else:
                for s in range(11):
                    acc[s] += bins[s]
    return {value: tuple(bins) for value, bins in sums.items()}
