"""The local mirror of one server-side token bucket."""

from __future__ import annotations

import pytest

from runner.schedule.token_bucket import TokenBucket


def _bucket(capacity: float = 60.0, rate: float = 1.0, reserve: float = 0.0) -> TokenBucket:
    return TokenBucket(capacity, rate, updated=0.0, reserve=reserve)


def test_starts_full() -> None:
    """A new bucket holds its capacity, so a cost up to capacity goes at once."""
    bucket = _bucket()

    assert bucket.level == 60.0
    assert bucket.wait_for(60.0, now=0.0) == 0.0


def test_refill_is_continuous() -> None:
    """After an overdraft the wait is the shortfall over the rate; refill is proportional."""
    bucket = _bucket(capacity=60.0, rate=2.0)
    bucket.take(60.0, now=0.0)

    assert bucket.wait_for(10.0, now=0.0) == pytest.approx(5.0)
    assert bucket.wait_for(10.0, now=2.5) == pytest.approx(2.5)
    assert bucket.wait_for(10.0, now=5.0) == 0.0


def test_refill_stops_at_capacity() -> None:
    """Idle time never fills the bucket above its capacity."""
    bucket = _bucket(capacity=10.0, rate=1.0)
    bucket.take(5.0, now=0.0)
    bucket.take(0.0, now=1000.0)

    assert bucket.level == 10.0


def test_take_may_overdraw_and_counts_everything() -> None:
    """Taking more than the level goes negative; `taken` totals every charge."""
    bucket = _bucket(capacity=10.0, rate=1.0)
    bucket.take(8.0, now=0.0)
    bucket.take(8.0, now=0.0)

    assert bucket.level == -6.0
    assert bucket.taken == 16.0
    assert bucket.wait_for(1.0, now=0.0) == pytest.approx(7.0)


def test_reserve_is_kept_back() -> None:
    """A cost only fits when the reserve would remain afterwards."""
    bucket = _bucket(capacity=10.0, rate=1.0, reserve=2.0)
    bucket.take(8.0, now=0.0)

    assert bucket.wait_for(1.0, now=0.0) == pytest.approx(1.0)
    assert bucket.wait_for(1.0, now=1.0) == 0.0


@pytest.mark.parametrize(
    ("reserve", "expected_wait"),
    [pytest.param(0.0, 10.0, id="no-reserve"), pytest.param(5.0, 10.0, id="with-reserve")],
)
def test_cost_above_capacity_waits_for_a_full_bucket(reserve: float, expected_wait: float) -> None:
    """A cost larger than capacity (plus reserve) waits only until the bucket is full."""
    bucket = _bucket(capacity=10.0, rate=1.0, reserve=reserve)
    bucket.take(10.0, now=0.0)

    assert bucket.wait_for(1000.0, now=0.0) == pytest.approx(expected_wait)


def test_zero_rate_waits_forever() -> None:
    """With no refill, a cost that does not fit waits an infinite time."""
    bucket = _bucket(capacity=10.0, rate=0.0)
    bucket.take(10.0, now=0.0)

    assert bucket.wait_for(1.0, now=100.0) == float("inf")


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        pytest.param(5.0, 5.0, id="lower-adopted"),
        pytest.param(-3.0, -3.0, id="negative-adopted"),
        pytest.param(50.0, 20.0, id="higher-ignored"),
    ],
)
def test_lower_to_only_lowers(reported: float, expected: float) -> None:
    """A reported level lower than the mirror's is adopted; a higher one is ignored."""
    bucket = _bucket(capacity=60.0, rate=1.0)
    bucket.take(40.0, now=0.0)

    bucket.lower_to(reported, now=0.0)

    assert bucket.level == expected


def test_lower_to_refills_first() -> None:
    """lower_to compares against the level refilled up to now."""
    bucket = _bucket(capacity=60.0, rate=1.0)
    bucket.take(60.0, now=0.0)

    bucket.lower_to(30.0, now=10.0)

    assert bucket.level == 10.0


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        pytest.param(5.0, 25.0, id="partial"),
        pytest.param(500.0, 60.0, id="capped-at-capacity"),
        pytest.param(-5.0, 20.0, id="negative-ignored"),
    ],
)
def test_give_back_is_capped(amount: float, expected: float) -> None:
    """A refund raises the level, never above capacity, and a negative refund does nothing."""
    bucket = _bucket(capacity=60.0, rate=1.0)
    bucket.take(40.0, now=0.0)

    bucket.give_back(amount, now=0.0)

    assert bucket.level == expected


def test_resize_shrinks_level_and_changes_rate() -> None:
    """Resizing keeps the level within the new capacity and refills at the new rate."""
    bucket = _bucket(capacity=60.0, rate=1.0)

    bucket.resize(20.0, 4.0, now=0.0)
    assert bucket.level == 20.0

    bucket.take(20.0, now=0.0)
    assert bucket.wait_for(8.0, now=0.0) == pytest.approx(2.0)
    bucket.take(0.0, now=100.0)
    assert bucket.level == 20.0


def test_resize_larger_keeps_level() -> None:
    """Growing the capacity does not add tokens at once; they refill."""
    bucket = _bucket(capacity=10.0, rate=1.0)

    bucket.resize(100.0, 10.0, now=0.0)

    assert bucket.level == 10.0
    assert bucket.wait_for(30.0, now=0.0) == pytest.approx(2.0)
