"""The latency model: when the first token and each later one are due, and a pacer to wait.

Normal mode: time to first token = (`ttft_ms` + `ms_per_1k_input_tokens` x input/1000) x
(1 + jitter x u), u uniform in [-1, 1] from the seed; each output token then takes
`ms_per_output_token` (2.5x less in fast mode), with its own jitter draw. Fixed mode
(`fixed_latency_ms` = F): the first token is due at min(`ttft_ms`, F) and the last at exactly
F, with no jitter. Planted `latency_ms` is added to the time to first token in both modes.

`Pacer` holds a reply to that schedule, counted from the request's arrival where the server
stamped it (else from when the handler started), and measures how far behind it went out:
each write's lateness is when it was written (after `send` returned) minus when the earliest
event in it was due; `late_ms` is the largest, the emulator's own share of the delay a client
sees (a loaded server wakes late and writes late). Where several events are already due they
go out in one write; one that is not due yet flushes what is waiting first, so nothing is held.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Protocol

import anyio

from runner.emulator.config import EmulatorConfig


@dataclass(frozen=True)
class Timing:
    """Seconds to the first token and per output token after it."""

    first_token_s: float
    per_token_s: float

    def at(self, tokens: float) -> float:
        """Seconds from arrival until `tokens` output tokens after the first are out."""
        return self.first_token_s + tokens * self.per_token_s


def timing(
    config: EmulatorConfig,
    rng: random.Random,
    *,
    input_tokens: int,
    output_tokens: int,
    speedup: float,
    extra_ms: float,
) -> Timing:
    """The timing of one reply."""
    if config.fixed_latency_ms is not None:
        total = config.fixed_latency_ms
        first = min(config.ttft_ms, total)
        per_token = (total - first) / output_tokens if output_tokens else 0.0
        return Timing((first + extra_ms) / 1000, per_token / 1000)
    base = config.ttft_ms + config.ms_per_1k_input_tokens * input_tokens / 1000
    first = base * (1 + config.jitter * rng.uniform(-1.0, 1.0))
    per_token = config.ms_per_output_token / speedup * (1 + config.jitter * rng.uniform(-1.0, 1.0))
    return Timing(max(0.0, first + extra_ms) / 1000, max(0.0, per_token) / 1000)


class Timer(Protocol):
    """The pacer's clock and sleep (the event loop's; tests pass a fake that oversleeps)."""

    def now(self) -> float:
        """Monotonic seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep at least `seconds`."""
        ...


class LoopTimer:
    """The process's monotonic clock and the event loop's sleep.

    Not the loop's own clock: uvloop's counts whole milliseconds, too coarse to time lateness.
    """

    def now(self) -> float:
        """`time.perf_counter()`."""
        return time.perf_counter()

    async def sleep(self, seconds: float) -> None:
        """`anyio.sleep`."""
        await anyio.sleep(seconds)


LOOP_TIMER = LoopTimer()


class Pacer:
    """Waits until offsets measured from one start, so small sleeps do not add up to drift,
    and records how late each write went out against them."""

    def __init__(self, timer: Timer = LOOP_TIMER, start: float | None = None) -> None:
        """Offsets count from `start` (when the request arrived, on `timer`'s clock), or from
        now when it is not known."""
        self._timer = timer
        now = timer.now()
        self._start = now if start is None else min(start, now)
        # Unix seconds, for a client's clock on the same machine.
        self.started_at = time.time() - (now - self._start)
        self._due: float | None = None  # when the earliest event not yet written was due
        self._late = 0.0
        self._paced = False
        self._last = self._start  # when the last paced write went out

    def is_due(self, offset_s: float) -> bool:
        """Whether `offset_s` after the start has come."""
        return self._start + offset_s <= self._timer.now()

    async def until(self, offset_s: float) -> None:
        """Sleep until `offset_s` seconds after the start (at once if that has passed); again
        if the loop woke early (uvloop rounds a timer to the millisecond)."""
        due = self._start + offset_s
        if self._due is None:
            self._due = due
        while (delay := due - self._timer.now()) > 0:
            await self._timer.sleep(delay)

    def wrote(self) -> None:
        """What was waiting since the last write is out: count its lateness."""
        if self._due is not None:
            self._last = self._timer.now()
            self._late = max(self._late, self._last - self._due)
            self._paced = True
            self._due = None

    @property
    def took_ms(self) -> float:
        """Ms from the start to the last paced write."""
        return (self._last - self._start) * 1000.0

    @property
    def late_ms(self) -> float | None:
        """The largest lateness of a paced write, in ms (None: nothing paced was written)."""
        return self._late * 1000.0 if self._paced else None
