"""Server-sent events from bytes: every line ending, any chunking, comments and multi-line data."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from runner.http.sse import EventSplitter, aiter_events, parse_event

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


@pytest.mark.parametrize(
    ("block", "event"),
    [
        pytest.param(b"event: a\ndata: {}", ("a", "{}"), id="plain"),
        pytest.param(b"event: a:b\ndata: x: y", ("a:b", "x: y"), id="colons"),
        pytest.param(b"event:  a\ndata:  x", (" a", " x"), id="one-space-stripped"),
        pytest.param(b"event:a\ndata:x", ("a", "x"), id="no-space"),
        pytest.param(b"event: a\ndata: ", ("a", ""), id="empty-data"),
        pytest.param(b"event: a\ndata: x\ndata: y", ("a", "x\ny"), id="two-data-lines"),
        pytest.param(b"event: a\nid: 7\ndata: x", ("a", "x"), id="other-field"),
        pytest.param(b"event: a\n: note", None, id="no-data"),
        pytest.param(b"event: a\r\ndata: x", ("a", "x"), id="crlf"),
    ],
)
def test_an_event_block_reads_the_same_by_every_path(
    block: bytes, event: tuple[str, str] | None
) -> None:
    """The one-split reading of the usual block and the line-by-line reading agree."""
    assert parse_event(block) == event


def test_the_splitter_returns_each_chunks_complete_events() -> None:
    """Fed chunk by chunk, the splitter returns the events each chunk completes, in order."""
    splitter = EventSplitter()
    assert splitter.feed(b"event: a\ndata: 1\n\nevent: b\nda") == [("a", "1")]
    assert splitter.feed(b"ta: 2\n\nevent: c\ndata: 3\n\n") == [("b", "2"), ("c", "3")]
    assert splitter.feed(b"event: d\ndata: 4") == []


@pytest.mark.parametrize(
    "chunk",
    [
        pytest.param(b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\nevent: c\nda", id="plain"),
        pytest.param(b"event: a\ndata: 1\n\nxevent: b\ndata: 2\n\n", id="text-before-event"),
        pytest.param(b"event: a\ndata: 1\n\n\nevent: b\ndata: 2\n\n", id="three-newlines"),
        pytest.param(b"event: a\ndata: 1\n\n: ping\n\nevent: b\ndata: 2\n\n", id="comment"),
        pytest.param(b"event: a\ndata: 1\ndata: 2\n\nevent: b\ndata: 3\n\n", id="two-data"),
        pytest.param(b"data: 1\n\nevent: b\ndata: 2\n\n", id="unnamed"),
        pytest.param(b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n ", id="space-after"),
        pytest.param(b"event: a\ndata: 1", id="none-complete"),
    ],
)
def test_a_chunk_reads_the_same_as_its_blocks_one_by_one(chunk: bytes) -> None:
    """A chunk of plain events (read in one pass) and a chunk with any other block gives
    the events its blocks give parsed one at a time, the partial last one held back."""
    *blocks, _partial = chunk.split(b"\n\n")
    expected = [event for event in map(parse_event, blocks) if event is not None]
    assert EventSplitter().feed(chunk) == expected
