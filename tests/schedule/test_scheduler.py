"""The rate-limit-aware scheduler, driven by a fake clock and a sleep that advances it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

import anyio
import anyio.lowlevel
import pytest

from runner.config.types import RateLimits
from runner.errors import Load
from runner.http.ratelimit import RateLimitSnapshot, read_snapshot
from runner.schedule.scheduler import Cost, Scheduler, Ticket

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
SMALL = Cost(input_tokens=1, max_tokens=1)


class FakeTime:
    """A monotonic clock plus a sleep that moves it forward and records each wait."""

    def __init__(self) -> None:
        self.t = 0.0
        self.waits: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.t += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()


def _scheduler(
    time: FakeTime,
    *,
    rpm: int | None = None,
    itpm: int | None = None,
    otpm: int | None = None,
    counting: Literal["generated", "max_tokens"] = "max_tokens",
    concurrency: int = 4,
    shared: anyio.CapacityLimiter | None = None,
) -> Scheduler:
    limits = RateLimits(rpm=rpm, itpm=itpm, otpm=otpm, output_counting=counting)
    return Scheduler(limits, concurrency, clock=time, sleep=time.sleep, shared=shared)


def _headers(**values: str | int) -> RateLimitSnapshot:
    headers = {f"anthropic-ratelimit-{k.replace('_', '-')}": str(v) for k, v in values.items()}
    return read_snapshot(headers, NOW)


async def _take(scheduler: Scheduler, cost: Cost = SMALL) -> Ticket:
    async with scheduler.slot(cost) as ticket:
        return ticket


async def _start_times(scheduler: Scheduler, time: FakeTime, users: int) -> list[float]:
    """Run `users` concurrent slot() users; the fake times at which each got its budget."""
    started: list[float] = []

    async def user() -> None:
        async with scheduler.slot(SMALL) as ticket:
            started.append(ticket.taken_at)

    async with anyio.create_task_group() as group:
        for _ in range(users):
            group.start_soon(user)
    return started


@pytest.mark.anyio
async def test_paces_at_rpm_once_the_bucket_is_spent() -> None:
    """rpm=60: the full bucket (less a one-request reserve) goes at once, then one a second."""
    time = FakeTime()
    scheduler = _scheduler(time, rpm=60, concurrency=64)

    started = await _start_times(scheduler, time, users=63)

    assert started[:59] == [0.0] * 59
    assert started[59:] == pytest.approx([1.0, 2.0, 3.0, 4.0])
    assert time.waits == pytest.approx([1.0] * 4)


@pytest.mark.anyio
async def test_default_limits_with_no_headers_do_not_pace() -> None:
    """With no configured limits and a first response without headers, nothing waits."""
    time = FakeTime()
    scheduler = _scheduler(time)
    probe = await _take(scheduler)
    scheduler.settle(probe, read_snapshot({}, NOW), output=5, load=Load.NORMAL)

    started = await _start_times(scheduler, time, users=10)

    assert started == [0.0] * 10
    assert time.waits == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "snapshot",
    [
        pytest.param(_headers(requests_limit=600, requests_remaining=599), id="headers"),
        pytest.param(None, id="no-response"),
    ],
)
async def test_probe_goes_alone_until_settled(snapshot: RateLimitSnapshot | None) -> None:
    """Without configured limits the first attempt goes alone; the rest wait for its settle."""
    time = FakeTime()
    scheduler = _scheduler(time, concurrency=8)
    entered: list[int] = []

    async def user(n: int) -> None:
        async with scheduler.slot(SMALL):
            entered.append(n)

    async with anyio.create_task_group() as group, scheduler.slot(SMALL) as probe:
        for n in range(3):
            group.start_soon(user, n)
        await anyio.wait_all_tasks_blocked()
        assert entered == []
        scheduler.settle(probe, snapshot, output=1, load=Load.NORMAL)
    assert sorted(entered) == [0, 1, 2]


@pytest.mark.anyio
async def test_learns_rpm_from_the_first_response() -> None:
    """Limits reported by the probe's response are adopted and paced against afterwards."""
    time = FakeTime()
    scheduler = _scheduler(time, concurrency=64)
    probe = await _take(scheduler)
    assert probe.rpm is None
    scheduler.settle(probe, _headers(requests_limit=60, requests_remaining=59), 1, Load.NORMAL)

    started = await _start_times(scheduler, time, users=60)

    assert started[:58] == [0.0] * 58
    assert started[58:] == pytest.approx([1.0, 2.0])
    assert (await _take(scheduler)).rpm == 60.0


@pytest.mark.anyio
async def test_learns_input_token_limit_from_the_first_response() -> None:
    """A reported input-token limit paces later attempts by their estimated input size."""
    time = FakeTime()
    scheduler = _scheduler(time)
    probe = await _take(scheduler, Cost(input_tokens=1000, max_tokens=1))
    reported = _headers(input_tokens_limit=6000, input_tokens_remaining=5000)
    scheduler.settle(probe, reported, 1, Load.NORMAL)

    big = Cost(input_tokens=4000, max_tokens=1)
    first, second = await _take(scheduler, big), await _take(scheduler, big)

    # Remaining 5000 less a 500 rounding margin: 4500 holds one; the next waits 3500 / 100 s.
    assert first.queue_ms == 0.0
    assert second.queue_ms == pytest.approx(35_000.0)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("remaining", "sent_after", "immediate"),
    [
        pytest.param(0, 0, 0, id="none-left"),
        pytest.param(10, 0, 9, id="ten-left"),
        pytest.param(10, 1, 8, id="later-sends-subtracted"),
    ],
)
async def test_lowers_requests_to_the_reported_remaining(
    remaining: int, sent_after: int, immediate: int
) -> None:
    """A reported remaining below the mirror's level (less sends since) lowers it."""
    time = FakeTime()
    scheduler = _scheduler(time, rpm=60, concurrency=64)
    reporting = await _take(scheduler)
    for _ in range(sent_after):
        await _take(scheduler)
    scheduler.settle(
        reporting, _headers(requests_limit=60, requests_remaining=remaining), 1, Load.NORMAL
    )

    started = await _start_times(scheduler, time, users=immediate + 1)

    assert started[:immediate] == [0.0] * immediate
    assert started[immediate] > 0.0


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("retry_after", "pause_s"),
    [pytest.param("5", 5.0, id="retry-after"), pytest.param(None, 1.0, id="default-pause")],
)
async def test_429_pauses_every_slot(retry_after: str | None, pause_s: float) -> None:
    """After a 429 no slot is let through until its retry-after (or a default) has passed."""
    time = FakeTime()
    scheduler = _scheduler(time, rpm=6000, concurrency=8)
    failed = await _take(scheduler)
    headers = {"retry-after": retry_after} if retry_after else {}
    scheduler.settle(failed, read_snapshot(headers, NOW), None, Load.THROTTLED)
    tickets: list[tuple[float, Ticket]] = []

    async def user() -> None:
        async with scheduler.slot(SMALL) as ticket:
            tickets.append((time.t, ticket))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(user)

    assert [t for t, _ in tickets] == [pause_s] * 3
    assert min(ticket.queue_ms for _, ticket in tickets) == pytest.approx(pause_s * 1000)
    assert max(ticket.paused_ms for _, ticket in tickets) == pytest.approx(pause_s * 1000)
    assert scheduler.pauses == 1


@pytest.mark.anyio
async def test_529_does_not_pause() -> None:
    """An overload halves the concurrency but pauses nobody."""
    time = FakeTime()
    scheduler = _scheduler(time, rpm=6000)
    scheduler.settle(
        await _take(scheduler), read_snapshot({"retry-after": "30"}, NOW), None, Load.OVERLOADED
    )

    ticket = await _take(scheduler)

    assert (ticket.queue_ms, ticket.paused_ms) == (0.0, 0.0)
    assert scheduler.pauses == 0


_LOAD_BY_STATUS = {200: Load.NORMAL, 429: Load.THROTTLED, 529: Load.OVERLOADED}


async def _settle_all(scheduler: Scheduler, statuses: Sequence[int]) -> list[int]:
    seen = []
    for status in statuses:
        scheduler.settle(await _take(scheduler), None, None, _LOAD_BY_STATUS[status])
        seen.append(scheduler.concurrency)
    return seen


@pytest.mark.anyio
async def test_a_429_halves_concurrency_once_per_window() -> None:
    """The first 429 of a window halves the limit; more 429s in that window do not, and
    clean windows grow it back."""
    scheduler = _scheduler(FakeTime(), concurrency=8, rpm=6000)
    seen = await _settle_all(scheduler, (429, 429, 200, 200, 429, 200, 200, 200, 200, 429))
    assert seen == [4, 4, 4, 4, 2, 2, 2, 3, 3, 1]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        pytest.param((529, 200, 200, 200, 200, 200, 200, 200), 8, id="scattered-529s-keep-it"),
        pytest.param((529, 529, 529, 529, 200, 200, 200, 200), 6, id="half-overloaded-cuts"),
    ],
)
@pytest.mark.anyio
async def test_only_a_mostly_overloaded_window_cuts_concurrency(
    statuses: tuple[int, ...], expected: int
) -> None:
    """529s cut the limit by a quarter only when at least half of a window was overloaded."""
    scheduler = _scheduler(FakeTime(), concurrency=8, rpm=6000)
    assert (await _settle_all(scheduler, statuses))[-1] == expected


@pytest.mark.anyio
async def test_concurrency_grows_back_after_clean_windows() -> None:
    """After a halving, each clean window of `concurrency` attempts adds an eighth (>= 1)."""
    scheduler = _scheduler(FakeTime(), concurrency=4, rpm=6000)
    seen = await _settle_all(scheduler, (429, 200, 200, 200, 200, 200, 200, 200, 200, 200))
    assert seen == [2, 2, 2, 3, 3, 3, 4, 4, 4, 4]


@pytest.mark.anyio
async def test_concurrency_limit_bounds_slots_in_flight() -> None:
    """No more attempts than the (halved) concurrency hold a slot at once."""
    time = FakeTime()
    scheduler = _scheduler(time, concurrency=4, rpm=6000)
    scheduler.settle(await _take(scheduler), None, None, Load.THROTTLED)
    time.t += 2.0  # past the 429's pause
    inside: list[Ticket] = []
    release = anyio.Event()

    async def user() -> None:
        async with scheduler.slot(SMALL) as ticket:
            inside.append(ticket)
            await release.wait()

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(user)
        await anyio.wait_all_tasks_blocked()
        assert len(inside) == 2
        release.set()
    assert len(inside) == 5
    assert max(ticket.in_flight for ticket in inside) == 2


@pytest.mark.anyio
async def test_shared_limiter_caps_in_flight_across_schedulers() -> None:
    """Two schedulers sharing a run-wide limiter of one never have two attempts in flight."""
    time = FakeTime()
    shared = anyio.CapacityLimiter(1)
    schedulers = [_scheduler(time, rpm=6000, shared=shared) for _ in range(2)]
    inside: list[int] = []
    release = anyio.Event()

    async def user(n: int) -> None:
        async with schedulers[n].slot(SMALL):
            inside.append(n)
            await release.wait()

    async with anyio.create_task_group() as group:
        group.start_soon(user, 0)
        group.start_soon(user, 1)
        await anyio.wait_all_tasks_blocked()
        assert len(inside) == 1
        release.set()
    assert sorted(inside) == [0, 1]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("counting", "output", "charged", "second_wait_s"),
    [
        pytest.param("max_tokens", 0, 600, 0.0, id="max-tokens-refunded-in-full"),
        pytest.param("max_tokens", 100, 600, 10.0, id="max-tokens-refund-unused"),
        pytest.param("max_tokens", 600, 600, 60.0, id="max-tokens-all-used"),
        pytest.param("generated", 100, 0, 0.0, id="generated-within-budget"),
        pytest.param("generated", 900, 0, 30.0, id="generated-overdraft"),
    ],
)
async def test_output_tokens_charged_by_counting_mode(
    counting: Literal["generated", "max_tokens"], output: int, charged: int, second_wait_s: float
) -> None:
    """ "max_tokens" charges max_tokens up front and refunds; "generated" charges after."""
    time = FakeTime()
    scheduler = _scheduler(time, otpm=600, counting=counting)
    cost = Cost(input_tokens=1, max_tokens=600)
    first = await _take(scheduler, cost)
    scheduler.settle(first, None, output, Load.NORMAL)

    second = await _take(scheduler, cost)

    assert first.output_charged == charged
    assert second.queue_ms == pytest.approx(second_wait_s * 1000)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("counting", "second_wait_s"),
    [pytest.param("max_tokens", 60.0, id="max-tokens"), pytest.param("generated", 0.0, id="gen")],
)
async def test_output_budget_before_settle(
    counting: Literal["generated", "max_tokens"], second_wait_s: float
) -> None:
    """Before the first attempt settles, only "max_tokens" counting holds back the next one."""
    time = FakeTime()
    scheduler = _scheduler(time, rpm=6000, otpm=600, counting=counting)
    cost = Cost(input_tokens=1, max_tokens=600)

    await _take(scheduler, cost)
    second = await _take(scheduler, cost)

    assert second.queue_ms == pytest.approx(second_wait_s * 1000)


@pytest.mark.anyio
async def test_ticket_reports_queue_and_pause_separately() -> None:
    """queue_ms is the whole wait for the slot; paused_ms only the part spent in a 429 pause."""
    time = FakeTime()
    scheduler = _scheduler(time, rpm=60, concurrency=1)
    scheduler.settle(
        await _take(scheduler), read_snapshot({"retry-after": "1"}, NOW), None, Load.THROTTLED
    )

    ticket = await _take(scheduler)

    # The 429 also empties the request mirror: budget for one request plus the reserve takes 2 s.
    assert ticket.paused_ms == pytest.approx(1000.0)
    assert ticket.queue_ms == pytest.approx(2000.0)
    assert time.waits == pytest.approx([2.0])


@pytest.mark.anyio
async def test_no_slot_is_held_after_the_context_exits() -> None:
    """Leaving slot(), normally or by an exception, releases the concurrency slot."""
    time = FakeTime()
    scheduler = _scheduler(time, rpm=6000, concurrency=1)

    first = await _take(scheduler)
    with pytest.raises(RuntimeError, match="attempt blew up"):
        async with scheduler.slot(SMALL):
            raise RuntimeError("attempt blew up")
    with anyio.fail_after(5):
        after = await _take(scheduler)

    assert (first.in_flight, after.in_flight) == (1, 1)
    assert after.seq == 3


@pytest.mark.anyio
async def test_each_report_reanchors_the_mirror_both_ways() -> None:
    """A report replaces the local estimate: less than we thought holds sends back, more
    than we thought (an earlier report was stale) lets them go again."""
    time = FakeTime()
    scheduler = _scheduler(time, concurrency=8)
    probe = await _take(scheduler)
    scheduler.settle(probe, _headers(requests_limit=60, requests_remaining=0), 1, Load.NORMAL)
    assert await _start_times(scheduler, time, users=1) == [pytest.approx(2.0)]
    ticket = await _take(scheduler)
    scheduler.settle(ticket, _headers(requests_limit=60, requests_remaining=30), 1, Load.NORMAL)
    started_at = time.t
    assert await _start_times(scheduler, time, users=5) == [started_at] * 5


@pytest.mark.anyio
async def test_a_slot_cancelled_while_held_frees_both_limiters() -> None:
    """An attempt cancelled inside its slot (a stop) gives back this model's slot and the
    run-wide one: the next attempts of either scheduler go at once."""
    time = FakeTime()
    shared = anyio.CapacityLimiter(1)
    scheduler, other = (_scheduler(time, rpm=6000, concurrency=1, shared=shared) for _ in "ab")
    entered = anyio.Event()

    async def held() -> None:
        async with scheduler.slot(SMALL):
            entered.set()
            await anyio.sleep_forever()

    async with anyio.create_task_group() as group:
        group.start_soon(held)
        await entered.wait()
        group.cancel_scope.cancel()
    with anyio.fail_after(5):
        tickets = [await _take(scheduler), await _take(other)]

    assert [t.in_flight for t in tickets] == [1, 1]
    assert shared.borrowed_tokens == 0


@pytest.mark.anyio
async def test_a_small_attempt_does_not_pass_one_waiting_for_budget() -> None:
    """FIFO among a model's waiters: while a large attempt waits for input-token budget, a
    small one that the budget could carry at once waits behind it."""
    clock = FakeTime()
    refill = anyio.Event()

    async def sleep(seconds: float) -> None:
        await refill.wait()
        clock.t += seconds

    limits = RateLimits(rpm=6000, itpm=600, otpm=None, output_counting="max_tokens")
    scheduler = Scheduler(limits, 4, clock=clock, sleep=sleep)
    order: list[str] = []

    async def user(name: str, cost: Cost) -> None:
        async with scheduler.slot(cost):
            order.append(name)

    await _take(scheduler, Cost(input_tokens=500, max_tokens=1))  # 100 tokens left
    async with anyio.create_task_group() as group:
        group.start_soon(user, "large", Cost(input_tokens=300, max_tokens=1))
        await anyio.wait_all_tasks_blocked()
        group.start_soon(user, "small", SMALL)
        await anyio.wait_all_tasks_blocked()
        assert order == []
        refill.set()
    assert order == ["large", "small"]
