"""One rate-limit-aware scheduler per (target, API key, model), shared by every arm.

Before each attempt `slot()` waits, in FIFO order, for a concurrency slot and for budget in
local mirrors of the server's token buckets (requests, input tokens, output tokens), which
refill continuously. The mirrors start from configured limits, or from the first response's
`anthropic-ratelimit-*` headers (until then one probe request goes alone), and are re-anchored
on every response: the remaining budget it reports, less what was sent after that attempt,
refilled since its headers arrived. A 429 pauses every send until its retry-after and
halves the concurrency (once per window of `concurrency` attempts); a window in which at
least half the attempts were overloaded (529) cuts it by a quarter, and a window with
neither grows it by an eighth, up to the configured concurrency. Scattered 529s alone never
shrink it: the API's overload is not caused by one client's concurrency. The slot is
released when the attempt ends, so no slot is held through a backoff.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio

from runner.clock import Clock, Sleep
from runner.config.types import RateLimits
from runner.http.ratelimit import RateLimitSnapshot
from runner.schedule.token_bucket import TokenBucket

_DEFAULT_PAUSE_S = 1.0
_REPORTED = ("requests", "input_tokens", "output_tokens")
# Token "remaining" values are rounded to the nearest thousand; request counts are exact.
_ROUNDING = {"requests": 0.0, "input_tokens": 500.0, "output_tokens": 500.0}
# Requests keep one in hand against the gap between our send and the server's count.
_RESERVE = {"requests": 1.0, "input_tokens": 0.0, "output_tokens": 0.0}


@dataclass(frozen=True, slots=True)
class Cost:
    """What one attempt is expected to take from the budgets."""

    input_tokens: int
    max_tokens: int


@dataclass(slots=True)
class Ticket:
    """Issued when an attempt may go; carries what it took and the state it met."""

    seq: int
    taken_at: float
    cost: Cost
    output_charged: int
    requests_mark: float
    input_mark: float
    output_mark: float
    queue_ms: float
    paused_ms: float
    concurrency: int
    in_flight: int
    rpm: float | None


class Scheduler:
    """Paces attempts against request and token budgets; see the module docstring.

    `shared` caps attempts in flight across every scheduler of a run (the run's concurrency,
    which is also the HTTP pool's size); this scheduler's own limit adapts below it.
    """

    def __init__(
        self,
        limits: RateLimits,
        concurrency: int,
        *,
        clock: Clock,
        sleep: Sleep,
        shared: anyio.CapacityLimiter | None = None,
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._max_concurrency = concurrency
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._shared = shared or anyio.CapacityLimiter(concurrency)
        self._lock = anyio.Lock()
        now = clock.now()
        self._requests = _bucket(limits.rpm, now, reserve=_RESERVE["requests"])
        self._input = _bucket(limits.itpm, now, reserve=_RESERVE["input_tokens"])
        self._output = _bucket(limits.otpm, now, reserve=_RESERVE["output_tokens"])
        self._learned = anyio.Event()
        self._probing = False
        if limits.rpm is not None:
            self._learned.set()
        self._pause_until = 0.0
        self._seq = 0
        self._window = _Window()
        self.pauses = 0
        self.paused_s = 0.0

    @property
    def concurrency(self) -> int:
        """The current concurrency limit."""
        return int(self._limiter.total_tokens)

    def telemetry(self) -> dict[str, float | int | str | None]:
        """Why the run went at the pace it did: limits in force, concurrency, pauses."""
        return {
            "rpm": _capacity(self._requests),
            "itpm": _capacity(self._input),
            "otpm": _capacity(self._output),
            "limits_from": "config" if self._limits.rpm is not None else "headers",
            "concurrency": self.concurrency,
            "max_concurrency": self._max_concurrency,
            "attempts": self._seq,
            "pauses": self.pauses,
            "paused_s": round(self.paused_s, 3),
        }

    @asynccontextmanager
    async def slot(self, cost: Cost) -> AsyncIterator[Ticket]:
        """Wait for budget and a concurrency slot; hold the slot for the attempt only."""
        queued = self._clock.now()
        await self._wait_for_first_limits()
        async with self._limiter, self._shared:
            async with self._lock:
                paused = await self._wait_for_budget(cost)
                ticket = self._take(cost, queued, paused)
            yield ticket

    def settle(
        self,
        ticket: Ticket,
        snapshot: RateLimitSnapshot | None,
        output: int | None,
        status: int | None,
        reported_at: float | None = None,
    ) -> None:
        """Account for a finished attempt: learn limits, refund tokens, adapt concurrency.

        `reported_at` is when the response headers arrived (monotonic; default now): the
        server counted its remaining budget before then.
        """
        now = self._clock.now()
        if snapshot is not None and snapshot.reported:
            self._learn(ticket, snapshot, now, now if reported_at is None else reported_at)
        self._refund_output(ticket, output, now)
        if status in (429, 529):
            self._back_off(status, snapshot, now)
        else:
            self._window.record(status)
        self._adapt()
        self._learned.set()

    async def _wait_for_first_limits(self) -> None:
        if self._learned.is_set():
            return
        if not self._probing:
            self._probing = True
            return
        await self._learned.wait()

    async def _wait_for_budget(self, cost: Cost) -> float:
        paused = 0.0
        while True:
            now = self._clock.now()
            pause = self._pause_until - now
            wait = max([pause, *(b.wait_for(c, now) for b, c in self._charges(cost))])
            if wait <= 0:
                return paused
            paused += max(0.0, min(pause, wait))
            await self._sleep(wait)

    def _charges(self, cost: Cost) -> list[tuple[TokenBucket, float]]:
        pairs = [(self._requests, 1.0), (self._input, float(cost.input_tokens))]
        pairs.append((self._output, float(self._output_at_send(cost))))
        return [(b, c) for b, c in pairs if b is not None]

    def _output_at_send(self, cost: Cost) -> int:
        return cost.max_tokens if self._limits.output_counting == "max_tokens" else 0

    def _take(self, cost: Cost, queued: float, paused: float) -> Ticket:
        now = self._clock.now()
        for bucket, amount in self._charges(cost):
            bucket.take(amount, now)
        self._seq += 1
        return Ticket(
            seq=self._seq,
            taken_at=now,
            cost=cost,
            output_charged=self._output_at_send(cost),
            requests_mark=self._requests.taken if self._requests else 0.0,
            input_mark=self._input.taken if self._input else 0.0,
            output_mark=self._output.taken if self._output else 0.0,
            queue_ms=(now - queued) * 1000.0,
            paused_ms=paused * 1000.0,
            concurrency=self.concurrency,
            in_flight=int(self._shared.borrowed_tokens),
            rpm=self._requests.capacity if self._requests else None,
        )

    def _learn(
        self, ticket: Ticket, snapshot: RateLimitSnapshot, now: float, reported_at: float
    ) -> None:
        limits = self._limits
        self._requests = _adopt(self._requests, snapshot, "requests", limits.rpm, now)
        self._input = _adopt(self._input, snapshot, "input_tokens", limits.itpm, now)
        self._output = _adopt(self._output, snapshot, "output_tokens", limits.otpm, now)
        marks = (ticket.requests_mark, ticket.input_mark, ticket.output_mark)
        buckets = (self._requests, self._input, self._output)
        for bucket, name, mark in zip(buckets, _REPORTED, marks, strict=True):
            remaining = snapshot.bucket(name).remaining
            if bucket is not None and remaining is not None:
                # What the server had then, less what we sent after this attempt.
                level = remaining - _ROUNDING[name] - (bucket.taken - mark)
                bucket.reanchor(level, since=reported_at, now=now)

    def _refund_output(self, ticket: Ticket, output: int | None, now: float) -> None:
        if self._output is None:
            return
        actual = output if output is not None else 0
        if self._limits.output_counting == "max_tokens":
            self._output.give_back(ticket.output_charged - actual, now)
        else:
            self._output.take(actual, now)

    def _back_off(self, status: int, snapshot: RateLimitSnapshot | None, now: float) -> None:
        self._window.record(status)
        if status != 429:
            return
        if not self._window.cut:
            self._set_concurrency(self.concurrency // 2)
            self._window.cut = True
        wait = snapshot.retry_after_s if snapshot and snapshot.retry_after_s else None
        until = max(self._pause_until, now + (wait or _DEFAULT_PAUSE_S))
        self.paused_s += until - max(self._pause_until, now)
        self._pause_until = until
        self.pauses += 1
        if self._requests is not None:
            self._requests.lower_to(0.0, now)

    def _adapt(self) -> None:
        """At the end of each window of `concurrency` attempts: cut on overload, else grow."""
        window = self._window
        if window.done < self.concurrency:
            return
        if not window.cut and window.overloaded * 2 >= window.done:
            self._set_concurrency(self.concurrency * 3 // 4)
        elif window.clean:
            self._set_concurrency(self.concurrency + max(1, self.concurrency // 8))
        self._window = _Window()

    def _set_concurrency(self, value: int) -> None:
        self._limiter.total_tokens = min(self._max_concurrency, max(1, value))


@dataclass(slots=True)
class _Window:
    """Outcomes since the concurrency was last adapted."""

    done: int = 0
    overloaded: int = 0
    throttled: int = 0
    cut: bool = False

    def record(self, status: int | None) -> None:
        self.done += 1
        self.overloaded += status == 529
        self.throttled += status == 429

    @property
    def clean(self) -> bool:
        return self.overloaded == 0 and self.throttled == 0


def _capacity(bucket: TokenBucket | None) -> float | None:
    return bucket.capacity if bucket is not None else None


def _bucket(per_minute: int | None, now: float, *, reserve: float) -> TokenBucket | None:
    if per_minute is None:
        return None
    return TokenBucket(float(per_minute), per_minute / 60.0, now, reserve=reserve)


def _adopt(
    bucket: TokenBucket | None,
    snapshot: RateLimitSnapshot,
    name: str,
    configured: int | None,
    now: float,
) -> TokenBucket | None:
    limit = snapshot.bucket(name).limit
    if configured is not None or not limit:
        return bucket
    if bucket is None:
        return TokenBucket(float(limit), limit / 60.0, now, reserve=_RESERVE[name])
    if not math.isclose(bucket.capacity, limit):
        bucket.resize(float(limit), limit / 60.0, now)
    return bucket
