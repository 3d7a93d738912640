"""A loopback TCP server in the test's own event loop whose handler writes raw bytes.

For what a well-behaved HTTP server never does: reset a connection, stop mid-answer, answer
TLS with plain text, never answer. `reset` closes with SO_LINGER 0, so the peer sees an RST.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
from anyio.abc import SocketAttribute, SocketStream

Handler = Callable[[SocketStream], Awaitable[None]]

SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    """Serve `handler` on 127.0.0.1; yields the base URL (http://127.0.0.1:PORT)."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(SocketAttribute.local_port)

    async def closing(stream: SocketStream) -> None:
        async with stream:
            await handler(stream)

    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, closing)
        yield f"http://127.0.0.1:{port}"
        group.cancel_scope.cancel()


async def read_request(stream: SocketStream) -> bytes:
    """The request's head (up to the blank line) and whatever of the body came with it."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += await stream.receive()
    return received


async def reset(stream: SocketStream) -> None:
    """Close with an RST instead of a FIN."""
    raw = stream.extra(SocketAttribute.raw_socket)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await stream.aclose()


def chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
