"""The run's transport writes a request as soon as it has a connection: the body writer's first
step runs at once (as aiohttp does from Python 3.12), the rest where it must wait, whole."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from anyio.abc import SocketStream
from raw_server import raw_server

from runner.http.transport import _started
from runner.run.services import http_client

pytestmark = pytest.mark.anyio


async def test_a_writer_that_never_waits_is_done_before_its_task_runs() -> None:
    """All of a writer that does not wait has run when `_started` returns."""
    done: list[str] = []

    async def writer() -> None:
        done.append("written")

    rest = _started(writer())
    assert done == ["written"]
    await rest


async def test_a_writer_that_waits_runs_up_to_the_wait_then_finishes_when_awaited() -> None:
    """The part before the wait runs at once; the rest once what it waits on is ready."""
    steps: list[str] = []
    ready = anyio.Event()

    async def writer() -> None:
        steps.append("head")
        await ready.wait()
        steps.append("tail")

    rest = _started(writer())
    assert steps == ["head"]
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: rest)
        await anyio.lowlevel.checkpoint()
        ready.set()
    assert steps == ["head", "tail"]


async def test_cancelling_the_rest_reaches_the_writer() -> None:
    """A cancelled task hands the cancellation to the writer, whose clean-up runs."""
    cleaned: list[bool] = []

    async def writer() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            cleaned.append(True)

    rest = _started(writer())
    with anyio.move_on_after(0):  # cancelled at its first wait
        await rest
    assert cleaned == [True]


async def test_a_writer_that_fails_at_once_fails_its_task() -> None:
    """An error in the first step is raised where the rest is awaited, as a task would."""

    async def writer() -> None:
        raise OSError("broken pipe")

    rest = _started(writer())
    with pytest.raises(OSError, match="broken pipe"):
        await rest


async def test_a_body_written_over_many_waits_arrives_whole() -> None:
    """A 6 MB body streamed in 100 pieces, the writer waiting between them (and for the
    socket), reaches the server byte for byte, and its answer comes back."""
    piece = bytes(range(256)) * 256
    received = bytearray()

    async def pieces() -> AsyncIterator[bytes]:
        for _ in range(100):
            await anyio.lowlevel.checkpoint()
            yield piece

    async def answer(stream: SocketStream) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive()
        received.extend(data.partition(b"\r\n\r\n")[2])
        while not received.endswith(b"0\r\n\r\n"):  # the chunked body's end
            received.extend(await stream.receive())
        await stream.send(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    async with raw_server(answer) as url, http_client(1, 10.0) as http:
        response = await http.post(url + "/", content=pieces())
    assert response.content == b"ok"
    assert unchunked(bytes(received)) == piece * 100


def unchunked(body: bytes) -> bytes:
    """The data of a chunked HTTP/1.1 body."""
    data, rest = bytearray(), body
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if not size:
            return bytes(data)
        data.extend(rest[:size])
        rest = rest[size + 2 :]
