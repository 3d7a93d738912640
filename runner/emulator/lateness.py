"""The emulator's own lateness, per request, kept outside the Messages API.

A client that measures a reply's latency sees the injected time plus three delays: its own
(its event loop busy when the reply arrived), the wire's, and the server's. This module
measures the server's, in two parts, both in ms and both upper bounds:

- `late_ms` (from `latency.Pacer`): how far behind the latency model the reply's writes went
  out, measured from when the handler started.
- `loop_lag_ms`: the server's event loop's largest lag, from the wake-up before the handler
  started until the reply was written. A ticker (`LoopLag.run`, started by the ASGI lifespan)
  sleeps `interval_s` again and again; a wake-up's lag is how much later than due it woke.
  While the loop is busy, a request that has arrived waits for the handler that long, before
  the pacer's clock starts; the same algorithm as the client's `client_lag_ms`, written again
  here because the emulator imports nothing from the rest of runner.

`LatenessLog` keeps both for the last `capacity` answered requests, by request id, and
`GET /_emulator/lateness` returns them as JSON: `{"loop": ..., "http": ..., "requests":
[{"request_id": ..., "late_ms": ..., "loop_lag_ms": ...}, ...]}` (a path the API does not
have; no Messages body or event carries anything extra).
"""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict
from dataclasses import dataclass

from runner.emulator.latency import LOOP_TIMER, Timer

INTERVAL_S = 0.005
TRIM_EVERY = 4096  # ticks between drops of lags no open request can ask for
CAPACITY = 100_000
LATENESS_PATH = "/_emulator/lateness"


class LoopLag:
    """The ticker (`run`, a task of the lifespan) and per-request readings."""

    def __init__(
        self,
        timer: Timer = LOOP_TIMER,
        *,
        interval_s: float = INTERVAL_S,
        trim_every: int = TRIM_EVERY,
    ) -> None:
        self._timer = timer
        self._interval = interval_s
        self._trim_every = trim_every
        self._lags: list[float] = []  # seconds; wake-up number `self._base + i`
        self._base = 0
        self._open: Counter[int] = Counter()  # first wake-up read -> requests open since
        self._due: float | None = None  # when the pending wake-up is due

    async def run(self) -> None:
        """Tick until cancelled."""
        while True:
            self._due = self._timer.now() + self._interval
            await self._timer.sleep(self._interval)
            self._record(max(0.0, self._timer.now() - self._due))

    def open(self) -> int:
        """Mark a request's start; its reading includes the last wake-up before it."""
        mark = self._base + max(0, len(self._lags) - 1)
        self._open[mark] += 1
        return mark

    def close(self, mark: int) -> float | None:
        """The largest lag in ms since `mark`, or of a wake-up overdue now (None: no ticker)."""
        self._open[mark] -= 1
        if not self._open[mark]:
            del self._open[mark]
        if self._due is None:
            return None
        overdue = max(0.0, self._timer.now() - self._due)
        seen = max(self._lags[mark - self._base :], default=0.0)
        return max(seen, overdue) * 1000.0

    @property
    def held(self) -> int:
        """How many wake-ups' lags are kept (bounded by the oldest open request)."""
        return len(self._lags)

    def _record(self, lag: float) -> None:
        self._lags.append(lag)
        if len(self._lags) % self._trim_every == 0:
            oldest = min(self._open, default=self._base + len(self._lags) - 1)
            del self._lags[: oldest - self._base]
            self._base = oldest


@dataclass(frozen=True)
class Lateness:
    """One answered request's lateness, in ms."""

    late_ms: float
    loop_lag_ms: float | None


class LatenessLog:
    """The lateness of the last `capacity` answered requests, by request id."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._requests: OrderedDict[str, Lateness] = OrderedDict()

    def record(self, request_id: str, lateness: Lateness) -> None:
        """Keep one request's lateness, forgetting the oldest past `capacity`."""
        self._requests[request_id] = lateness
        if len(self._requests) > self._capacity:
            self._requests.popitem(last=False)

    def __len__(self) -> int:
        return len(self._requests)

    def body(self, http: str) -> dict[str, object]:
        """The JSON of `GET /_emulator/lateness`: the loop and parser served on, the requests."""
        requests = [
            {"request_id": rid, "late_ms": v.late_ms, "loop_lag_ms": v.loop_lag_ms}
            for rid, v in self._requests.items()
        ]
        return {"loop": running_loop(), "http": http, "requests": requests}


def running_loop() -> str:
    """The event loop serving now: "uvloop" or "asyncio" (its class's top-level module), or
    "other" off asyncio (trio)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return "other"
    return type(loop).__module__.split(".")[0]
