"""Loop lag: each attempt gets the largest lag of the wake-ups while it was in flight."""

from __future__ import annotations

import anyio
import pytest

from runner.http.lag import LoopLag, client_lag


class LateClock:
    """A fake monotonic clock, and a sleep that advances it by more than asked (the lag)."""

    def __init__(self) -> None:
        self.t = 0.0
        self.late = [0.0]

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds + (self.late.pop(0) if self.late else 0.0)
        await anyio.lowlevel.checkpoint()


async def _ticks(lag: LoopLag, clock: LateClock, lateness: list[float]) -> None:
    """Let the ticker wake once per entry of `lateness`, that late."""
    clock.late = list(lateness)
    for _ in lateness:
        await anyio.lowlevel.checkpoint()
        await anyio.lowlevel.checkpoint()


@pytest.mark.anyio
async def test_an_attempt_gets_the_largest_lag_seen_while_in_flight() -> None:
    """Lags of 2 ms before, 30 and 4 ms during, 50 ms after: the attempt reads 30 ms."""
    clock = LateClock()
    lag = LoopLag(clock, clock.sleep, interval_s=0.005)
    async with anyio.create_task_group() as group:
        group.start_soon(lag.run)
        await _ticks(lag, clock, [0.002])
        mark = lag.open()
        await _ticks(lag, clock, [0.030, 0.004])
        during = lag.close(mark)
        later = lag.open()
        await _ticks(lag, clock, [0.050])
        after = lag.close(later)
        group.cancel_scope.cancel()
    assert during == pytest.approx(30.0)
    assert after == pytest.approx(50.0)


@pytest.mark.anyio
async def test_an_overdue_wake_up_counts_before_it_runs() -> None:
    """The loop is blocked 25 ms past the ticker's due time when the attempt ends: 25 ms, even
    though the late wake-up has not run yet."""
    clock = LateClock()
    lag = LoopLag(clock, clock.sleep, interval_s=0.005)
    async with anyio.create_task_group() as group:
        group.start_soon(lag.run)
        await _ticks(lag, clock, [0.0])
        mark = lag.open()
        clock.t += 0.025  # blocked 25 ms past the pending wake-up's due time
        found = lag.close(mark)
        group.cancel_scope.cancel()
    assert found == pytest.approx(25.0)


def test_before_the_ticker_runs_nothing_is_measured() -> None:
    """No ticker yet: None (not measured), never 0."""
    lag = LoopLag()
    assert lag.close(lag.open()) is None


@pytest.mark.anyio
async def test_lags_older_than_every_open_attempt_are_dropped() -> None:
    """After many ticks with no attempt open, the kept lags stay bounded."""
    clock = LateClock()
    lag = LoopLag(clock, clock.sleep, interval_s=0.005, trim_every=16)
    async with anyio.create_task_group() as group:
        group.start_soon(lag.run)
        await _ticks(lag, clock, [0.0] * 100)
        mark = lag.open()
        await _ticks(lag, clock, [0.007])
        found = lag.close(mark)
        group.cancel_scope.cancel()
    assert lag.held < 16
    assert found == pytest.approx(7.0)


@pytest.mark.anyio
async def test_an_open_attempt_keeps_its_lags_through_a_trim() -> None:
    """A long attempt still reads the lag of its first wake-up after many trims."""
    clock = LateClock()
    lag = LoopLag(clock, clock.sleep, interval_s=0.005, trim_every=16)
    async with anyio.create_task_group() as group:
        group.start_soon(lag.run)
        await _ticks(lag, clock, [0.0])
        mark = lag.open()
        await _ticks(lag, clock, [0.009] + [0.0] * 100)
        found = lag.close(mark)
        group.cancel_scope.cancel()
    assert found == pytest.approx(9.0)


@pytest.mark.parametrize(
    ("loop_ms", "returned_ms", "latency_ms", "recorded"),
    [
        pytest.param(3.0, 45.0, 60.0, 45.0, id="read-late"),
        pytest.param(30.0, 4.0, 60.0, 30.0, id="loop-late"),
        pytest.param(3.0, None, 60.0, 3.0, id="arrival-unknown"),
        pytest.param(None, 45.0, 60.0, None, id="loop-not-measured"),
        pytest.param(0.2, 10.0, 0.6, 0.6, id="reading-past-the-latency"),
        pytest.param(3.0, 45.0, None, 45.0, id="latency-unknown"),
    ],
)
def test_client_lag_is_the_larger_of_the_loop_lag_and_the_wait_for_a_read(
    loop_ms: float | None,
    returned_ms: float | None,
    latency_ms: float | None,
    recorded: float | None,
) -> None:
    """client_lag_ms: the loop lag, or the wait from arrival to the clock's stop if longer
    (that wait no longer than the latency); unmeasured while the ticker is not running."""
    assert client_lag(loop_ms, returned_ms, latency_ms) == recorded
