"""The emulator's own lateness, per request, kept outside the Messages API.

A client that measures a reply's latency sees the injected time plus three delays: its own
(its event loop busy when the reply arrived), the wire's, and the server's. This module
measures the server's, in two parts, both in ms:

- `late_ms` (from `latency.Pacer`): how far behind the latency model the reply's writes went
  out, the largest over its writes. The model counts from the request's arrival: when the
  server's HTTP parser began reading it (stamped under httptools, `ARRIVED`; without the
  stamp, from when the handler started), so a handler a busy loop started late counts late;
  less how long the request's bytes had already waited in the kernel (`queued_s`), so one a
  busy loop read late counts late too.
- `wait_ms`: how long the request may have waited before that: the server's event-loop lag
  when the handler started. A ticker (`LoopLag.run`,
  run by the ASGI lifespan) sleeps `interval_s` again and again; the lag is how late the last
  wake-up woke, or how overdue the pending one is, whichever is larger. It is an estimate:
  a request held up by one busy stretch of the loop waited about that long (one that ended
  just before the request came counts too); one queued behind several, in a loop saturated
  for longer (as when many connections open at once), waited longer than any one lag shows.

With them `started_at` (Unix seconds, the request's arrival) and `took_ms` (from then to the
last write) let a client on the same machine line its own clock up with the server's and
split a reply's delay exactly: on its way to the server, behind the schedule, on its way back.

`LatenessLog` keeps these for the last `capacity` answered requests, by request id, and
`GET /_emulator/lateness` returns them as JSON: `{"loop": ..., "http": ..., "requests":
[{"request_id", "started_at", "took_ms", "late_ms", "wait_ms"}, ...]}` (a path the API does
not have; no Messages body or event carries anything extra).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import asdict, dataclass

from runner.emulator.latency import LOOP_TIMER, Timer
from runner.tcp_info import JIFFY_S, SocketOptions, since_received_s

INTERVAL_S = 0.005
CAPACITY = 100_000
LATENESS_PATH = "/_emulator/lateness"
# The key under the request scope's "state" where the server stamps when it parsed the
# request's first bytes (`server`'s httptools protocol), on the pacer's clock.
ARRIVED = "emulator.arrived"


def queued_s(sock: SocketOptions | None) -> float:
    """How long, at least, the data last received on the TCP connection `sock` has waited in
    the kernel to be read, in seconds: the kernel's time since it received it
    (`runner.tcp_info`) less one jiffy, since it counts whole jiffies (so this never says
    more than waited, and the emulator never answers early). 0.0 where unknown (not Linux,
    not TCP, no socket)."""
    since = since_received_s(sock)
    return 0.0 if since is None else max(0.0, since - JIFFY_S)


class LoopLag:
    """The ticker (`run`, a task of the lifespan) and the loop's lag now (`now_ms`)."""

    def __init__(self, timer: Timer = LOOP_TIMER, *, interval_s: float = INTERVAL_S) -> None:
        self._timer = timer
        self._interval = interval_s
        self._last = 0.0  # seconds: how late the last wake-up woke
        self._due: float | None = None  # when the pending wake-up is due

    async def run(self) -> None:
        """Tick until cancelled."""
        while True:
            self._due = self._timer.now() + self._interval
            await self._timer.sleep(self._interval)
            self._last = max(0.0, self._timer.now() - self._due)

    def now_ms(self) -> float | None:
        """The loop's lag in ms: the last wake-up's, or the pending one's overdue time,
        whichever is larger (None: no ticker runs)."""
        if self._due is None:
            return None
        return max(self._last, self._timer.now() - self._due) * 1000.0


@dataclass(frozen=True)
class Lateness:
    """One answered request: its arrival (Unix s), ms from then to its last write, the
    largest lateness of its writes and the loop's lag when its handler started (ms)."""

    started_at: float
    took_ms: float
    late_ms: float
    wait_ms: float | None


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

    def body(self, http: str) -> dict[str, object]:
        """The JSON of `GET /_emulator/lateness`: the loop and parser served on, the requests."""
        requests = [{"request_id": rid, **asdict(v)} for rid, v in self._requests.items()]
        return {"loop": running_loop(), "http": http, "requests": requests}


def running_loop() -> str:
    """The event loop serving now: "uvloop" or "asyncio" (its class's top-level module), or
    "other" off asyncio (trio)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return "other"
    return type(loop).__module__.split(".")[0]
