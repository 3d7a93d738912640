"""Time as seams: a monotonic clock, a sleep and a UTC wall clock that tests can replace."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol

import anyio

Sleep = Callable[[float], Awaitable[None]]
"""An async sleep of a number of seconds; tests inject one that records instead of sleeping."""


class Clock(Protocol):
    """A monotonic clock in seconds."""

    def now(self) -> float:
        """Seconds since an arbitrary fixed point; never goes backwards."""
        ...


class MonotonicClock:
    """The process's monotonic clock."""

    def now(self) -> float:
        """`time.perf_counter()`."""
        return time.perf_counter()


async def real_sleep(seconds: float) -> None:
    """Sleep on the event loop (never blocks it)."""
    await anyio.sleep(max(0.0, seconds))


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
