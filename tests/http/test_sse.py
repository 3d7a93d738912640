"""Server-sent events from bytes: every line ending, any chunking, comments and multi-line data."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from runner.http.sse import aiter_events

STREAM = (
    b": a comment\n"
    b'event: message_start\ndata: {"a": 1}\n\n'
    b"event: ping\ndata: {}\n\n"
    b"data: first\ndata: second\n\n"
    b"event: message_stop\ndata: {}\n\n"
    b"event: cut\ndata: partial"
)
EXPECTED = [
    ("message_start", '{"a": 1}'),
    ("ping", "{}"),
    ("message", "first\nsecond"),
    ("message_stop", "{}"),
]


async def _events(data: bytes, size: int) -> list[tuple[str, str]]:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), size):
            yield data[start : start + size]

    return [event async for event in aiter_events(chunks())]


@pytest.mark.anyio
@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("size", [1, 7, 4096], ids=["bytewise", "small", "whole"])
async def test_events_are_the_same_for_every_line_ending_and_chunking(
    ending: bytes, size: int
) -> None:
    """LF, CRLF or CR, one byte at a time or all at once: the same complete events, and a
    trailing partial event is dropped."""
    data = STREAM.replace(b"\n", ending)
    assert await _events(data, size) == EXPECTED
