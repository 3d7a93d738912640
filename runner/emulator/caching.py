"""Prompt caching: which part of a prompt is read from cache and which part is written.

A breakpoint is a segment with `cache_control`; its prefix is every segment up to and including
it. As the API does, each breakpoint also looks back `LOOKBACK_BLOCKS` segments for a prefix
cached earlier (so a tool loop whose last block is marked reads the previous request's prompt).
The longest prefix already cached (and not expired) is read; the prefixes of later
breakpoints are written, each new stretch charged at its breakpoint's TTL. A read refreshes the
entry's lifetime. Prefixes under `MIN_CACHEABLE_TOKENS` are not cached. Entries are per API key
and model. `plan` only looks; `commit` stores, so a rate-limited request changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from runner.emulator.ratelimit import Clock
from runner.emulator.tokens import Segment

MIN_CACHEABLE_TOKENS = 1024
LOOKBACK_BLOCKS = 20
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


@dataclass(frozen=True)
class CachePlan:
    """Tokens read and written (by TTL), and the entries to store if the request goes ahead."""

    read: int = 0
    created_5m: int = 0
    created_1h: int = 0
    writes: tuple[tuple[str, float], ...] = field(default=(), repr=False)

    @property
    def created(self) -> int:
        """All tokens written to the cache."""
        return self.created_5m + self.created_1h


@dataclass(frozen=True)
class _Prefix:
    key: str
    tokens: int


@dataclass(frozen=True)
class _Breakpoint:
    at: int
    ttl: str


def _prefixes(scope: str, segs: list[Segment]) -> list[_Prefix]:
    digest = hashlib.sha256(scope.encode())
    total = 0
    prefixes = []
    for seg in segs:
        digest.update(seg.canonical.encode())
        total += seg.tokens
        prefixes.append(_Prefix(digest.copy().hexdigest(), total))
    return prefixes


def _breakpoints(segs: list[Segment], prefixes: list[_Prefix], long_ttl: bool) -> list[_Breakpoint]:
    points = []
    for index, seg in enumerate(segs):
        if seg.cache_ttl is not None and prefixes[index].tokens >= MIN_CACHEABLE_TOKENS:
            points.append(_Breakpoint(index, "1h" if seg.cache_ttl == "1h" and long_ttl else "5m"))
    return points


class PromptCache:
    """Cached prefixes with their expiry times, on an injectable monotonic clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def clear(self) -> None:
        """Forget every cached prefix."""
        self._expiry.clear()

    def plan(self, scope: str, segs: list[Segment], long_ttl: bool) -> CachePlan:
        """What a request with these segments reads and writes; stores nothing."""
        prefixes = _prefixes(scope, segs)
        points = _breakpoints(segs, prefixes, long_ttl)
        hit, hit_ttl = self._longest_hit(prefixes, points)
        read = prefixes[hit].tokens if hit >= 0 else 0
        created = {"5m": 0, "1h": 0}
        covered = read
        writes = []
        for point in (p for p in points if p.at > hit):
            created[point.ttl] += prefixes[point.at].tokens - covered
            covered = prefixes[point.at].tokens
            writes.append((prefixes[point.at].key, TTL_SECONDS[point.ttl]))
        if hit >= 0:
            writes.append((prefixes[hit].key, TTL_SECONDS[hit_ttl]))
        return CachePlan(read, created["5m"], created["1h"], tuple(writes))

    def _longest_hit(self, prefixes: list[_Prefix], points: list[_Breakpoint]) -> tuple[int, str]:
        """The last segment index of the longest cached prefix any breakpoint reaches, or -1."""
        now = self._clock()
        best, best_ttl = -1, "5m"
        for point in points:
            for index in range(point.at, max(-1, point.at - LOOKBACK_BLOCKS), -1):
                if index > best and self._expiry.get(prefixes[index].key, 0.0) > now:
                    best, best_ttl = index, point.ttl
                    break
        return best, best_ttl

    def commit(self, plan: CachePlan) -> None:
        """Store the plan's writes and refresh its read."""
        now = self._clock()
        for key, ttl in plan.writes:
            self._expiry[key] = max(self._expiry.get(key, 0.0), now + ttl)
