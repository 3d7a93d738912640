"""The run's aiohttp transport: every network failure arrives as the httpx error the client
classifies, the pool is bounded and bodies stream in chunks (cookies: test_transport_cookies)."""

from __future__ import annotations

import gzip
import json
import socket

import anyio
import httpx
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from anyio.abc import SocketStream
from raw_server import SSE_HEAD, chunk, closed_port, raw_server, read_request, reset

from runner.config.types import Target
from runner.http.client import MESSAGES_PATH, AttemptOutcome, MessagesClient, PreparedRequest
from runner.http.transport import CONNECT_MS, PooledTransport
from runner.run.services import http_client

pytestmark = pytest.mark.anyio

STREAMED = PreparedRequest(MESSAGES_PATH, b'{"stream": true}', stream=True)
START = b'event: message_start\ndata: {"type":"message_start","message":{"id":"m"}}\n\n'


async def _send(url: str, http: httpx.AsyncClient | None = None) -> AttemptOutcome:
    async with http or http_client(4, 5.0) as client:
        messages = MessagesClient(client, Target(base_url=url), "key", timeout_s=5.0)
        return await messages.send(STREAMED)


async def test_a_refused_connection_is_a_connection_failure() -> None:
    """Nothing listening: `connection`, from httpx's ConnectError, no status."""
    outcome = await _send(f"http://127.0.0.1:{closed_port()}")
    assert outcome.error is not None
    assert outcome.error.kind == "connection"
    assert "ConnectError" in str(outcome.error)
    assert outcome.http_status is None


class _NoSuchHost(AbstractResolver):
    """A resolver that knows no name, as a DNS server answering NXDOMAIN."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise OSError(socket.EAI_NONAME, f"Name or service not known: {host}")

    async def close(self) -> None:
        """Nothing to release."""


async def test_a_name_that_does_not_resolve_is_a_connection_failure() -> None:
    """DNS failure: `connection` (ConnectError), not a crash and not a timeout."""
    transport = PooledTransport(2, resolver=_NoSuchHost())
    outcome = await _send("http://api.example.invalid", httpx.AsyncClient(transport=transport))
    assert outcome.error is not None
    assert outcome.error.kind == "connection"
    assert "ConnectError" in str(outcome.error)


async def test_a_failed_tls_handshake_is_a_connection_failure() -> None:
    """https:// to a server that answers in plain text: `connection` (ConnectError)."""

    async def plain_text(stream: SocketStream) -> None:
        await stream.send(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
        await stream.aclose()

    async with raw_server(plain_text) as url:
        outcome = await _send(url.replace("http://", "https://"))
    assert outcome.error is not None
    assert outcome.error.kind == "connection"
    assert "ConnectError" in str(outcome.error)


async def test_a_reset_before_the_answer_is_a_connection_failure_not_a_timeout() -> None:
    """RST after the request is read: `connection`, retryable; httpx-aiohttp's own table
    would have called it a ConnectTimeout."""

    async def reset_at_once(stream: SocketStream) -> None:
        await read_request(stream)
        await reset(stream)

    async with raw_server(reset_at_once) as url:
        outcome = await _send(url)
    assert outcome.error is not None
    assert outcome.error.kind == "connection"
    assert outcome.error.retryable
    assert "Timeout" not in str(outcome.error)


async def test_a_close_before_the_answer_is_a_connection_failure() -> None:
    """FIN after the request, no answer: `connection` (RemoteProtocolError)."""

    async def hang_up(stream: SocketStream) -> None:
        await read_request(stream)
        await stream.aclose()

    async with raw_server(hang_up) as url:
        outcome = await _send(url)
    assert outcome.error is not None
    assert outcome.error.kind == "connection"
    assert "RemoteProtocolError" in str(outcome.error)


async def test_a_reset_mid_stream_is_a_stream_cut() -> None:
    """200, one event, then RST: `stream_cut` with the status recorded."""

    async def cut(stream: SocketStream) -> None:
        await read_request(stream)
        await stream.send(SSE_HEAD + chunk(START))
        await anyio.sleep(0.01)  # the client has the first event before the reset
        await reset(stream)

    async with raw_server(cut) as url:
        outcome = await _send(url)
    assert outcome.error is not None
    assert outcome.error.kind == "stream_cut"
    assert outcome.http_status == 200


async def test_a_server_that_never_answers_times_out_on_read() -> None:
    """No byte within the read timeout: `timeout`, from httpx's ReadTimeout."""
    quiet = anyio.Event()

    async def silent(stream: SocketStream) -> None:
        await read_request(stream)
        await quiet.wait()

    async with raw_server(silent) as url:
        outcome = await _send(url, http_client(4, 0.2))
        quiet.set()
    assert outcome.error is not None
    assert outcome.error.kind == "timeout"
    assert "ReadTimeout" in str(outcome.error)


async def test_the_body_streams_chunk_by_chunk() -> None:
    """The first event is readable while the server still holds back the rest."""
    first_seen = anyio.Event()

    async def trickle(stream: SocketStream) -> None:
        await read_request(stream)
        await stream.send(SSE_HEAD + chunk(START))
        await first_seen.wait()
        await stream.send(chunk(b"event: message_stop\ndata: {}\n\n") + b"0\r\n\r\n")

    chunks = []
    async with (
        raw_server(trickle) as url,
        http_client(2, 5.0) as http,
        http.stream("POST", url + MESSAGES_PATH) as response,
    ):
        async for data in response.aiter_bytes():
            chunks.append(data)
            first_seen.set()
    assert chunks[0] == START
    assert b"".join(chunks).endswith(b"data: {}\n\n")


async def test_the_pool_opens_no_more_connections_than_the_concurrency() -> None:
    """Eight requests at once over a pool of two: the server sees at most two connections,
    reused (keep-alive) for the rest."""
    open_now, most, accepted = 0, 0, 0
    body = json.dumps({"ok": True}).encode()

    async def answer(stream: SocketStream) -> None:
        nonlocal open_now, most, accepted
        open_now, accepted = open_now + 1, accepted + 1
        most = max(most, open_now)
        try:
            while True:
                await read_request(stream)
                await anyio.sleep(0.01)
                head = f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n\r\n".encode()
                await stream.send(head + body)
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass
        finally:
            open_now -= 1

    async with (
        raw_server(answer) as url,
        http_client(2, 5.0) as http,
        anyio.create_task_group() as group,
    ):
        for _ in range(8):
            group.start_soon(http.get, url + "/")
    assert most <= 2
    assert accepted <= 2


async def test_a_compressed_stream_is_decoded() -> None:
    """A gzip-encoded event stream (read through httpx's decoder, not raw) folds as usual."""
    events = START + (
        b'event: content_block_start\ndata: {"index":0,"content_block":{"type":"text"}}\n\n'
        b'event: content_block_delta\ndata: {"index":0,"delta":{"type":"text_delta","text":"Hi"}}'
        b'\n\nevent: content_block_stop\ndata: {"index":0}\n\nevent: message_stop\ndata: {}\n\n'
    )

    async def gzipped(stream: SocketStream) -> None:
        await read_request(stream)
        head = SSE_HEAD.replace(b"\r\n\r\n", b"\r\ncontent-encoding: gzip\r\n\r\n")
        await stream.send(head + chunk(gzip.compress(events)) + b"0\r\n\r\n")

    async with raw_server(gzipped) as url:
        outcome = await _send(url)
    assert outcome.error is None
    assert outcome.message is not None
    assert outcome.message["content"] == [{"type": "text", "text": "Hi"}]


async def test_each_answer_says_how_long_its_request_waited_for_a_connection() -> None:
    """Every response through the pool carries connect_ms, the first (a new connection) and the
    next (reused) alike, and the client records it: never negative, never longer than the
    attempt."""
    body = json.dumps({"ok": True}).encode()

    async def answer(stream: SocketStream) -> None:
        try:
            while True:
                await read_request(stream)
                head = f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n\r\n".encode()
                await stream.send(head + body)
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass

    async with raw_server(answer) as url, http_client(1, 5.0) as http:
        answers = [await http.get(url + "/") for _ in range(2)]
        outcome = await MessagesClient(http, Target(base_url=url), "key", timeout_s=5.0).send(
            PreparedRequest("/v1/messages/count_tokens", b"{}")
        )
    for response in answers:
        waited = response.extensions[CONNECT_MS]
        assert isinstance(waited, float)
        assert 0.0 <= waited <= response.elapsed.total_seconds() * 1000.0
    assert outcome.connect_ms is not None
    assert outcome.latency_ms is not None
    assert 0.0 <= outcome.connect_ms <= outcome.latency_ms
