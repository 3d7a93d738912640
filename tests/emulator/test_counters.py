"""Arrival and sample counting in bounded memory: counts per key, least recently seen forgotten."""

from __future__ import annotations

from runner.emulator.counters import SeenCounter
from runner.emulator.errors import new_id


def test_each_key_counts_its_own_arrivals() -> None:
    """0 the first time, then 1, 2, ...; another key starts at 0."""
    counter = SeenCounter()
    assert [counter.seen("a"), counter.seen("a"), counter.seen("b"), counter.seen("a")] == [
        0,
        1,
        0,
        2,
    ]


def test_past_capacity_the_least_recently_seen_key_is_forgotten() -> None:
    """Capacity 2: seeing a, b, a, c forgets b (not a, seen more recently); b restarts at 0."""
    counter = SeenCounter(capacity=2)
    for key in ("a", "b", "a", "c"):
        counter.seen(key)
    assert len(counter) == 2
    assert counter.seen("a") == 2
    assert counter.seen("b") == 0


def test_a_large_body_is_counted_by_its_hash() -> None:
    """Two 50 KB keys differing in one character are two keys."""
    big = "x" * 50_000
    counter = SeenCounter()
    assert (counter.seen(big + "1"), counter.seen(big + "2"), counter.seen(big + "1")) == (0, 0, 1)


def test_ids_look_like_the_apis() -> None:
    """A prefix, then 24 base62 characters, different every time."""
    ids = {new_id("msg_") for _ in range(1000)}
    assert len(ids) == 1000
    for value in ids:
        assert value.startswith("msg_")
        assert len(value) == 28
        assert value[4:].isalnum()
        assert value[4:].isascii()
