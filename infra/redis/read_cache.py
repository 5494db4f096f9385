"""Reads kept per process and brought up to date from the counters' bucket versions.

A read sums counter hashes over its period's buckets: 30 days are some 30 hashes, a
breakdown of 50 values over a year some 2,000. Summing them in Lua costs Redis far more
than the one command a bare read makes (about 90 µs for 30 days against 3 µs), and the
Redis server shares the machine with the API. So a period's buckets are read in groups:
the older ones together, each of the newest HOT_BUCKETS alone, since that is where new
answers land. Every apply bumps the version of each bucket it changes, and read.lua /
breakdown.lua sum a group again only when the sum of its bucket versions moved (versions
only grow within a generation, and a new generation starts every entry afresh). A cached
group is therefore exact, and under steady ingest a read sums only the newest bucket again.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any, Generic, TypeVar

from domain.nps import Histogram
from domain.periods import bucket_keys

HOT_BUCKETS = 2
NO_VERSION = "-"

CacheKey = tuple[Any, ...]
Part = TypeVar("Part")
Total = TypeVar("Total")
Periods = tuple[tuple[date, date], ...]


@functools.lru_cache(maxsize=1024)  # reads ask for the same few periods over and over
def bucket_groups(start: date, end: date) -> tuple[str, ...]:
    """The period's buckets in groups, each group's names joined by commas."""
    keys = bucket_keys(start, end)
    older, newest = keys[:-HOT_BUCKETS], keys[-HOT_BUCKETS:]
    return (",".join(older), *newest) if older else tuple(newest)


def period_groups(periods: Periods) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Every period's groups one after the other, and how many groups each period has
    (remembered for the few periods a dashboard asks for, not for long trends)."""
    return _period_groups(periods) if len(periods) <= 12 else _groups_of(periods)


@functools.lru_cache(maxsize=1024)
def _period_groups(periods: Periods) -> tuple[tuple[str, ...], tuple[int, ...]]:
    return _groups_of(periods)


def _groups_of(periods: Periods) -> tuple[tuple[str, ...], tuple[int, ...]]:
    per_period = [bucket_groups(start, end) for start, end in periods]
    return tuple(g for groups in per_period for g in groups), tuple(map(len, per_period))


class _Entry(Generic[Part]):
    __slots__ = ("gen", "parts", "total", "versions")

    def __init__(self, gen: str, parts: list[Part]) -> None:
        self.gen = gen
        self.versions = [NO_VERSION] * len(parts)
        self.parts = parts
        self.total: Any = None  # what the parts add up to, until one of them changes


class GroupCache(Generic[Part]):
    """Per read (tenant, scope, filter, periods...): the generation, each group's version
    and its part (what the script summed for it); the `size` most recent reads are kept.

    A read whose parts weigh more than `max_weight` (groups, or values summed over groups:
    a daily trend over years, a dimension with thousands of values) is answered but not
    kept, so that the memory of the cache stays bounded whatever the callers ask for.
    """

    def __init__(
        self,
        size: int,
        empty: Callable[[], Part],
        *,
        weigh: Callable[[list[Part]], int] = len,
        max_weight: int = 1000,
    ) -> None:
        self.size = size
        self._empty = empty
        self._weigh, self._max_weight = weigh, max_weight
        self._entries: OrderedDict[CacheKey, _Entry[Part]] = OrderedDict()

    def args(self, key: CacheKey, groups: Sequence[str]) -> list[str]:
        """The scripts' trailing ARGV: the cached generation ('' for none), then per group
        its buckets and the cached version."""
        entry = self._entries.get(key)
        versions = entry.versions if entry else [NO_VERSION] * len(groups)
        args = [entry.gen if entry else ""]
        for group, version in zip(groups, versions, strict=True):
            args += [group, version]
        return args

    def update(
        self,
        key: CacheKey,
        groups: int,
        gen: str,
        changed: Iterable[tuple[int, str, Part]],
        total: Callable[[list[Part]], Total],
    ) -> Total:
        """Take the groups the script summed again (0-based index, version, part) and
        return what all groups add up to (`total` of the parts, kept until a part changes)."""
        entry = self._entries.get(key)
        if entry is None or entry.gen != gen:
            entry = _Entry(gen, [self._empty() for _ in range(groups)])
        for group, version, part in changed:
            entry.parts[group], entry.versions[group] = part, version
            entry.total = None
        heavy = False  # a kept entry was weighed when its parts last changed
        if entry.total is None:  # new or changed parts: totalled and weighed again
            entry.total = total(entry.parts)
            heavy = self._weigh(entry.parts) > self._max_weight
        if heavy:
            self._entries.pop(key, None)
        elif self.size > 0:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        result: Total = entry.total
        return result


def histogram_parts(result: Sequence[Any]) -> Iterator[tuple[int, str, Histogram]]:
    """read.lua's changed groups: index (1-based), version, 11 sums each."""
    for i in range(2, len(result), 13):
        bins = tuple(int(x) for x in result[i + 2 : i + 13])
        yield int(result[i]) - 1, result[i + 1].decode(), bins


def breakdown_parts(result: Sequence[Any]) -> Iterator[tuple[int, str, dict[str, Histogram]]]:
    """breakdown.lua's changed groups: index (1-based), version, n, n x (value, 11 sums)."""
    i = 2
    while i < len(result):
        group, version, n = int(result[i]) - 1, result[i + 1].decode(), int(result[i + 2])
        i += 3
        part: dict[str, Histogram] = {}
        for _ in range(n):
            part[result[i].decode()] = tuple(int(x) for x in result[i + 1 : i + 12])
            i += 12
        yield group, version, part


def histogram_totals(parts: Sequence[Histogram], spans: Sequence[int]) -> list[Histogram]:
    """One histogram per period: the sum of its `span` consecutive groups."""
    out: list[Histogram] = []
    i = 0
    for span in spans:
        if span == 1:
            out.append(parts[i])
        else:
            out.append(tuple(map(sum, zip(*parts[i : i + span], strict=True))))
        i += span
    return out


def breakdown_total(parts: list[dict[str, Histogram]]) -> dict[str, Histogram]:
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
