"""Support for orchestration tests in virtual time: a clock, a sleep and a driver.

`VirtualTime.sleep(s)` waits until the virtual clock reaches now + s. The clock only moves in
`drive()`, a task that lets every other task run (many checkpoints) and then jumps to the
earliest pending wake-up, so sleepers wake in time order and work that does not sleep (a
request through `httpx.ASGITransport`) takes no virtual time. Run `drive()` in the test's
task group and cancel it when the work is done.
"""

from __future__ import annotations

import heapq
import itertools

import anyio
import anyio.lowlevel

_YIELDS = 200


class VirtualTime:
    """A monotonic clock (`now`), a sleep on it, and the task that moves it."""

    def __init__(self) -> None:
        self.t = 0.0
        self._wakes: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()

    def now(self) -> float:
        """Virtual seconds."""
        return self.t

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of virtual time."""
        woken = anyio.Event()
        heapq.heappush(self._wakes, (self.t + max(0.0, seconds), next(self._order), woken))
        await woken.wait()

    async def drive(self) -> None:
        """Move the clock forever (cancel it): to the next wake-up once others have run."""
        while True:
            for _ in range(_YIELDS):
                await anyio.lowlevel.checkpoint()
            if self._wakes:
                wake, _, woken = heapq.heappop(self._wakes)
                self.t = max(self.t, wake)
                woken.set()
