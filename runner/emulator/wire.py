"""ASGI plumbing: the callable types, reading a capped request body, sending JSON, SSE, chunks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

# ASGI messages are plain dicts whose values vary by key; servers type them this loosely too.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[str, str]]

JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream; charset=utf-8"


class BodyTooLarge(Exception):
    """The request body passed the size limit; the rest was not read."""


def dumps(value: object) -> bytes:
    """Compact JSON, as the API sends it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, or BodyTooLarge once it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _encode(headers: Headers) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


async def start(send: Send, status: int, headers: Headers) -> None:
    """Send the status line and headers."""
    await send({"type": "http.response.start", "status": status, "headers": _encode(headers)})


async def send_json(send: Send, status: int, body: object, headers: Headers) -> None:
    """Send a whole JSON response."""
    data = dumps(body)
    length = [("content-type", JSON_TYPE), ("content-length", str(len(data)))]
    await start(send, status, length + headers)
    await send({"type": "http.response.body", "body": data, "more_body": False})


def event(name: str, data: object) -> bytes:
    """One named SSE event: `event:` line, `data:` line, blank line."""
    return b"event: " + name.encode() + b"\ndata: " + dumps(data) + b"\n\n"


async def send_chunk(send: Send, data: bytes) -> None:
    """Send one piece of a response body whose headers are out; more follows."""
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def finish(send: Send, data: bytes = b"") -> None:
    """End a streamed response body, with `data` as its last piece."""
    await send({"type": "http.response.body", "body": data, "more_body": False})


class ConnectionDropped(Exception):
    """Raised inside the app after the response started, so the server cuts the connection."""
