"""Prompt caching: which part of a prompt is read from cache and which part is written.

A breakpoint is a segment with `cache_control`; its prefix is every segment up to and including
it. The longest prefix already cached (and not expired) is read; the prefixes of later
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
class _Breakpoint:
    key: str
    tokens: int
    ttl: str


def _breakpoints(scope: str, segs: list[Segment], long_ttl: bool) -> list[_Breakpoint]:
    digest = hashlib.sha256(scope.encode())
    total = 0
    points = []
    for seg in segs:
        digest.update(seg.canonical.encode())
        total += seg.tokens
        if seg.cache_ttl is not None and total >= MIN_CACHEABLE_TOKENS:
            ttl = "1h" if seg.cache_ttl == "1h" and long_ttl else "5m"
            points.append(_Breakpoint(digest.copy().hexdigest(), total, ttl))
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
        now = self._clock()
        points = _breakpoints(scope, segs, long_ttl)
        hits = [i for i, p in enumerate(points) if self._expiry.get(p.key, 0.0) > now]
        first_new = hits[-1] + 1 if hits else 0
        read = points[hits[-1]].tokens if hits else 0
        created = {"5m": 0, "1h": 0}
        covered = read
        for point in points[first_new:]:
            created[point.ttl] += point.tokens - covered
            covered = point.tokens
        writes = [(p.key, TTL_SECONDS[p.ttl]) for p in points[first_new:]]
        if hits:
            writes.append((points[hits[-1]].key, TTL_SECONDS[points[hits[-1]].ttl]))
        return CachePlan(read, created["5m"], created["1h"], tuple(writes))

    def commit(self, plan: CachePlan) -> None:
        """Store the plan's writes and refresh its read."""
        now = self._clock()
        for key, ttl in plan.writes:
            self._expiry[key] = max(self._expiry.get(key, 0.0), now + ttl)
