"""One rate-limit-aware scheduler per (target, API key, model), shared by every arm.

An attempt goes through `slot()` in three steps:

1. Probe: without configured limits, the first attempt goes alone; the others wait until the
   limits are learned from its response headers (or it ends without any).
2. Budget, holding only this model's own slot (its `CapacityLimiter`, whose size adapts, see
   below): in FIFO order among this model's waiters, wait until the local mirrors of the
   server's token buckets (requests, input tokens, output tokens; refilling continuously) hold
   the attempt's cost and no 429 pause is in force, then take the cost from them. A model
   paced to a low rpm, or paused by a 429, sleeps here without holding anything another model
   needs.
3. Send, holding also one run-wide `shared` slot (the run's concurrency, the HTTP pool's
   size), taken just around the attempt and released when it ends, so no slot of either kind
   is held through a retry's backoff and `in_flight` counts attempts on the wire only.

The mirrors start from configured limits, or from the first response's
`anthropic-ratelimit-*` headers, and are re-anchored on every response as soon as its
headers arrive (`learn`, before the body is read): the remaining budget it reports, less what
was sent after that attempt, refilled since its headers arrived. `settle` then refunds output
tokens and adapts. A throttled failure (429) pauses every send of this model until its
retry-after (at most `max_pause_s`) and halves the concurrency (once per window of
`concurrency` attempts); a window in which at least half the attempts were overloaded (a 529,
or an overloaded_error event mid-stream: the `Load` of the one classification in
`runner.errors`) cuts it by a quarter, and a window with neither grows it by an eighth, up to
the configured concurrency. Scattered overloads alone never shrink it: the API's overload is
not caused by one client's concurrency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import anyio
import anyio.lowlevel

from runner.clock import Clock, Sleep
from runner.config.types import RateLimits
from runner.errors import Load
from runner.http.ratelimit import BucketState, RateLimitSnapshot
from runner.schedule.token_bucket import TokenBucket

_DEFAULT_PAUSE_S = 1.0
# Token "remaining" values are rounded to the nearest thousand; request counts are exact.
_ROUNDING = {"requests": 0.0, "input_tokens": 500.0, "output_tokens": 500.0}
# Requests keep one in hand against the gap between our send and the server's count.
_RESERVE = {"requests": 1.0, "input_tokens": 0.0, "output_tokens": 0.0}


@dataclass(frozen=True, slots=True)
class Cost:
    """What one attempt is expected to take from the budgets."""

    input_tokens: int
    max_tokens: int


@dataclass(frozen=True, slots=True)
class _Charged:
    """What taking an attempt's cost from the budgets recorded."""

    seq: int
    at: float
    requests_mark: float
    input_mark: float
    output_mark: float


@dataclass(slots=True)
class Ticket:
    """Issued when an attempt may go; carries what it took (at `taken_at`, when its cost was
    taken from the budgets) and the state it met when it was sent."""

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
    learned: bool = False


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
        max_pause_s: float = 60.0,
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._max_concurrency = concurrency
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._shared = shared or anyio.CapacityLimiter(concurrency)
        self._lock = anyio.Lock(fast_acquire=True)  # uncontended: no extra trip round the loop
        now = clock.now()
        self._requests = _bucket(limits.rpm, now, reserve=_RESERVE["requests"])
        self._input = _bucket(limits.itpm, now, reserve=_RESERVE["input_tokens"])
        self._output = _bucket(limits.otpm, now, reserve=_RESERVE["output_tokens"])
        self._learned = anyio.Event()  # set once the first limits are known (`_known`)
        self._known = False
        self._probing = False
        if limits.rpm is not None:
            self._let_go()
        self._pause_until = 0.0
        self._max_pause_s = max_pause_s
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

    def slot(self, cost: Cost) -> _Slot:
        """Wait for budget holding only this model's slot, then take a run-wide slot for the
        attempt; both are released when the attempt ends (see the module docstring)."""
        return _Slot(self, cost)

    async def _enter(self, cost: Cost, borrower: object) -> Ticket:
        queued = self._clock.now()
        # One checkpoint (cancellation, and the others' turn) here; the slots are then taken
        # without another trip round the event loop when they are free.
        await anyio.lowlevel.checkpoint()
        ticket = self._enter_at_once(cost, borrower, queued)
        return ticket if ticket is not None else await self._wait(cost, borrower, queued)

    def _enter_at_once(self, cost: Cost, borrower: object, queued: float) -> Ticket | None:
        """The ticket, with plain calls, when nothing is waited for (limits known, both slots
        free, nobody waiting for budget, the budget in hand: most attempts); else None,
        having taken nothing. The same steps as `_wait`, none of which would wait."""
        if not self._known or self._lock.locked():
            return None
        if not _took(self._limiter, borrower):
            return None
        charges = self._charges(cost)
        if self._budget_wait(charges, self._clock.now()) > 0 or not _took(self._shared, borrower):
            self._limiter.release_on_behalf_of(borrower)  # nothing ran since: a plain undo
            return None
        return self._ticket(self._charge(charges), cost, queued, 0.0)

    async def _wait(self, cost: Cost, borrower: object, queued: float) -> Ticket:
        if not self._known:
            await self._wait_for_first_limits()
        if not _took(self._limiter, borrower):
            await self._limiter.acquire_on_behalf_of(borrower)
        try:
            async with self._lock:
                paused = await self._wait_for_budget(cost)
                charged = self._charge(self._charges(cost))
            if not _took(self._shared, borrower):
                await self._shared.acquire_on_behalf_of(borrower)
        except BaseException:
            self._limiter.release_on_behalf_of(borrower)
            raise
        return self._ticket(charged, cost, queued, paused)

    def _exit(self, borrower: object) -> None:
        self._shared.release_on_behalf_of(borrower)
        self._limiter.release_on_behalf_of(borrower)

    def learn(self, ticket: Ticket, snapshot: RateLimitSnapshot | None, reported_at: float) -> None:
        """Re-anchor the budgets on a response's rate-limit headers, as soon as they arrive
        (`reported_at`, monotonic); lets the waiters behind a probe go."""
        if snapshot is None or not snapshot.buckets or ticket.learned:  # none reported
            return
        ticket.learned = True
        self._learn(ticket, snapshot, self._clock.now(), reported_at)
        self._let_go()

    def settle(
        self,
        ticket: Ticket,
        snapshot: RateLimitSnapshot | None,
        output: int | None,
        load: Load,
    ) -> None:
        """Account for a finished attempt: learn limits (unless `learn` already did, when its
        headers arrived), refund tokens, pause on a throttled failure and adapt concurrency."""
        now = self._clock.now()
        self.learn(ticket, snapshot, now)
        self._refund_output(ticket, output, now)
        self._window.record(load)
        if load is Load.THROTTLED:
            self._back_off(snapshot, now)
        self._adapt()
        self._let_go()

    def _let_go(self) -> None:
        """The waiters behind a probe go (once; a plain check after that)."""
        if not self._known:
            self._known = True
            self._learned.set()

    async def _wait_for_first_limits(self) -> None:
        if self._known:
            return
        if not self._probing:
            self._probing = True
            return
        await self._learned.wait()

    async def _wait_for_budget(self, cost: Cost) -> float:
        paused = 0.0
        while True:
            now = self._clock.now()
            wait = self._budget_wait(self._charges(cost), now)  # buckets learned meanwhile too
            if wait <= 0:
                return paused
            paused += max(0.0, min(self._pause_until - now, wait))
            await self._sleep(wait)

    def _budget_wait(self, charges: list[tuple[TokenBucket, float]], now: float) -> float:
        """Seconds until every budget holds its charge and no 429 pause is in force."""
        wait = self._pause_until - now
        for bucket, amount in charges:
            wait = max(wait, bucket.wait_for(amount, now))
        return wait

    def _charges(self, cost: Cost) -> list[tuple[TokenBucket, float]]:
        # Built in plain statements: a comprehension is one more call per attempt.
        charges: list[tuple[TokenBucket, float]] = []
        if self._requests is not None:
            charges.append((self._requests, 1.0))
        if self._input is not None:
            charges.append((self._input, float(cost.input_tokens)))
        if self._output is not None:
            charges.append((self._output, float(self._output_at_send(cost))))
        return charges

    def _output_at_send(self, cost: Cost) -> int:
        return cost.max_tokens if self._limits.output_counting == "max_tokens" else 0

    def _charge(self, charges: list[tuple[TokenBucket, float]]) -> _Charged:
        """Take the charges from the budgets: the attempt's number, the time, the budgets'
        marks."""
        now = self._clock.now()
        for bucket, amount in charges:
            bucket.take(amount, now)
        self._seq += 1
        requests, inputs, output = self._requests, self._input, self._output
        return _Charged(
            self._seq, now, requests.taken if requests else 0.0,
            inputs.taken if inputs else 0.0, output.taken if output else 0.0,
        )  # fmt: skip

    def _ticket(self, charged: _Charged, cost: Cost, queued: float, paused: float) -> Ticket:
        now = self._clock.now()
        return Ticket(
            seq=charged.seq,
            taken_at=charged.at,
            cost=cost,
            output_charged=self._output_at_send(cost),
            requests_mark=charged.requests_mark,
            input_mark=charged.input_mark,
            output_mark=charged.output_mark,
            queue_ms=(now - queued) * 1000.0,
            paused_ms=paused * 1000.0,
            concurrency=self.concurrency,
            in_flight=int(self._shared.borrowed_tokens),
            rpm=self._requests.capacity if self._requests else None,
        )

    def _learn(
        self, ticket: Ticket, snapshot: RateLimitSnapshot, now: float, reported_at: float
    ) -> None:
        limits, reported = self._limits, snapshot.buckets
        self._requests = _relearned(
            self._requests, reported.get("requests"), "requests", limits.rpm,
            ticket.requests_mark, now, reported_at,
        )  # fmt: skip
        self._input = _relearned(
            self._input, reported.get("input_tokens"), "input_tokens", limits.itpm,
            ticket.input_mark, now, reported_at,
        )  # fmt: skip
        self._output = _relearned(
            self._output, reported.get("output_tokens"), "output_tokens", limits.otpm,
            ticket.output_mark, now, reported_at,
        )  # fmt: skip

    def _refund_output(self, ticket: Ticket, output: int | None, now: float) -> None:
        if self._output is None:
            return
        actual = output if output is not None else 0
        if self._limits.output_counting == "max_tokens":
            self._output.give_back(ticket.output_charged - actual, now)
        else:
            self._output.take(actual, now)

    def _back_off(self, snapshot: RateLimitSnapshot | None, now: float) -> None:
        if not self._window.cut:
            self._set_concurrency(self.concurrency // 2)
            self._window.cut = True
        wait = snapshot.retry_after_s if snapshot and snapshot.retry_after_s else None
        wait = min(wait or _DEFAULT_PAUSE_S, self._max_pause_s)
        until = max(self._pause_until, now + wait)
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


class _Slot:
    """`Scheduler.slot`'s context: the ticket on entry, both slots released on exit."""

    __slots__ = ("_cost", "_scheduler")

    def __init__(self, scheduler: Scheduler, cost: Cost) -> None:
        self._scheduler = scheduler
        self._cost = cost

    async def __aenter__(self) -> Ticket:
        return await self._scheduler._enter(self._cost, self)

    async def __aexit__(self, *exc_info: object) -> None:
        self._scheduler._exit(self)


def _took(limiter: anyio.CapacityLimiter, borrower: object) -> bool:
    """Whether a token of `limiter` was taken at once for `borrower` (one is free and nobody
    waits ahead: FIFO kept); the caller awaits `acquire_on_behalf_of` otherwise. A plain call:
    no coroutine to build and drive when the slot is free, as it is for most attempts. The
    borrower is the attempt's slot, not its task: no task to look up on either side."""
    try:
        limiter.acquire_on_behalf_of_nowait(borrower)
    except anyio.WouldBlock:
        return False
    return True


@dataclass(slots=True)
class _Window:
    """Outcomes since the concurrency was last adapted."""

    done: int = 0
    overloaded: int = 0
    throttled: int = 0
    cut: bool = False

    def record(self, load: Load) -> None:
        self.done += 1
        self.overloaded += load is Load.OVERLOADED
        self.throttled += load is Load.THROTTLED

    @property
    def clean(self) -> bool:
        return self.overloaded == 0 and self.throttled == 0


def _capacity(bucket: TokenBucket | None) -> float | None:
    return bucket.capacity if bucket is not None else None


def _bucket(per_minute: int | None, now: float, *, reserve: float) -> TokenBucket | None:
    if per_minute is None:
        return None
    return TokenBucket(float(per_minute), per_minute / 60.0, now, reserve=reserve)


def _relearned(
    bucket: TokenBucket | None,
    state: BucketState | None,
    name: str,
    configured: int | None,
    mark: float,
    now: float,
    reported_at: float,
) -> TokenBucket | None:
    """`bucket` after one report of it (`state`, None when not reported): resized to (or
    made from) the reported limit unless one is configured, then re-anchored on the reported
    remaining; a bucket neither configured nor reported stays None."""
    if state is None:
        return bucket
    limit = state.limit
    if configured is None and limit:
        if bucket is None:
            bucket = _bucket(limit, now, reserve=_RESERVE[name])
        elif bucket.capacity != limit and not math.isclose(bucket.capacity, limit):
            bucket.resize(float(limit), limit / 60.0, now)
    if bucket is not None and state.remaining is not None:
        # What the server had then, less what we sent after this attempt.
        level = state.remaining - _ROUNDING[name] - (bucket.taken - mark)
        bucket.reanchor(level, since=reported_at, now=now)
    return bucket
