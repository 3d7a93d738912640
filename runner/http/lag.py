"""Event-loop lag, measured all the time, and read per attempt (`client_lag_ms`).

A ticker task sleeps `interval_s` again and again; a wake-up's lag is how much later than due
it woke. While the loop is busy (parsing, building rows, other tasks' callbacks), every due
callback waits about that long, the one that reads an attempt's answer included; so the
largest lag seen while an attempt was in flight says how much of its recorded latency the
client itself added. A run whose lags stay under a millisecond measured the server; one with
lags of tens of ms measured partly itself, and says so.

It says too little for a reply at the back of several long loop iterations, and misses the
awaits between its last chunk and the clock's stop; so an attempt's `client_lag_ms` is this
lag or, where the transport knows when the answer's last bytes reached the kernel
(`transport.Returned`), the wait from then to the clock's stop (at most the attempt's
latency), whichever is larger (`client_lag`).

`open()` marks an attempt's start; `close(mark)` returns the largest lag (ms) among the
wake-ups since, or the lag of a wake-up that is overdue now, whichever is larger. Lags are
kept only from the oldest open mark on: memory is bounded by the longest attempt in flight.
"""

from __future__ import annotations

from collections import Counter

from runner.clock import Clock, MonotonicClock, Sleep, real_sleep

INTERVAL_S = 0.005
TRIM_EVERY = 4096  # ticks between drops of lags no open attempt can ask for


class LoopLag:
    """The ticker (`run`, a task for the run's task group) and per-attempt readings."""

    def __init__(
        self,
        clock: Clock | None = None,
        sleep: Sleep = real_sleep,
        *,
        interval_s: float = INTERVAL_S,
        trim_every: int = TRIM_EVERY,
    ) -> None:
        self._clock = clock or MonotonicClock()
        self._sleep = sleep
        self._interval = interval_s
        self._trim_every = trim_every
        self._lags: list[float] = []  # seconds; tick number `self._base + i`
        self._base = 0
        self._open: Counter[int] = Counter()  # start tick -> attempts open since then
        self._due: float | None = None  # when the pending wake-up is due

    async def run(self) -> None:
        """Tick until cancelled."""
        while True:
            self._due = self._clock.now() + self._interval
            await self._sleep(self._interval)
            self._record(max(0.0, self._clock.now() - self._due))

    def open(self) -> int:
        """Mark the start of an attempt."""
        mark = self._base + len(self._lags)
        self._open[mark] += 1
        return mark

    def close(self, mark: int) -> float | None:
        """The largest lag in ms since `mark` (None while the ticker has not started)."""
        self._open[mark] -= 1
        if not self._open[mark]:
            del self._open[mark]
        if self._due is None:
            return None
        overdue = max(0.0, self._clock.now() - self._due)
        seen = max(self._lags[mark - self._base :], default=0.0)
        return max(seen, overdue) * 1000.0

    @property
    def held(self) -> int:
        """How many wake-ups' lags are kept (bounded by the oldest open attempt)."""
        return len(self._lags)

    def _record(self, lag: float) -> None:
        self._lags.append(lag)
        if len(self._lags) % self._trim_every == 0:
            oldest = min(self._open, default=self._base + len(self._lags))
            del self._lags[: oldest - self._base]
            self._base = oldest


def client_lag(
    loop_ms: float | None, returned_ms: float | None, latency_ms: float | None = None
) -> float | None:
    """An attempt's `client_lag_ms`: its loop lag, or the wait from its answer's last bytes
    reaching the kernel to its clock's stop if known and longer, that wait at most the
    attempt's `latency_ms` when known; None while the loop lag is not measured."""
    if loop_ms is None or returned_ms is None:
        return loop_ms
    # The bytes came after the request went: a reading a jiffy over on an answer quicker
    # than a jiffy (or bytes a server sent ahead) must not say the client took longer.
    if latency_ms is not None:
        returned_ms = min(returned_ms, latency_ms)
    return max(loop_ms, returned_ms)
