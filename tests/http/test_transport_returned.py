"""An answer that sat in the client's kernel before the client finished with it counts in
client_lag_ms: the transport reads when its last bytes arrived (TCP_INFO), over real loopback;
a transport that cannot say leaves client_lag_ms the loop lag."""

from __future__ import annotations

import json
import socket

import anyio
import httpx
import pytest
from anyio.abc import SocketStream
from raw_server import SSE_HEAD, chunk, raw_server, read_request

from runner.config.types import Target
from runner.http.client import MESSAGES_PATH, AttemptOutcome, MessagesClient, PreparedRequest
from runner.http.lag import LoopLag
from runner.http.transport import PooledTransport

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux's"),
]

LATE_S = 0.05
JSON = PreparedRequest("/v1/messages/count_tokens", b"{}")
STREAMED = PreparedRequest(MESSAGES_PATH, b'{"stream": true}', stream=True)
EVENTS = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"m"}}\n\n'
    b"event: message_stop\ndata: {}\n\n"
)


async def _answer(stream: SocketStream) -> None:
    """Every answer whole in one write: a JSON body, or a complete event stream."""
    try:
        while True:
            streamed = b'"stream": true' in await read_request(stream)
            if streamed:
                await stream.send(SSE_HEAD + chunk(EVENTS) + b"0\r\n\r\n")
            else:
                body = json.dumps({"input_tokens": 3}).encode()
                head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body)
                await stream.send(head + body)
    except (anyio.EndOfStream, anyio.BrokenResourceError):
        pass


class _ReadLate(httpx.AsyncBaseTransport):
    """Hands each response up `LATE_S` after its head came: its bytes have all arrived by
    then, and the event loop idles meanwhile (no lag)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        await anyio.sleep(LATE_S)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _sent(
    transport: httpx.AsyncBaseTransport, url: str, prepared: PreparedRequest
) -> tuple[AttemptOutcome, float]:
    """One attempt through `transport` with the lag ticker running, and the plain loop lag
    over the whole attempt (ms)."""
    lag = LoopLag()
    async with httpx.AsyncClient(transport=transport) as http, anyio.create_task_group() as group:
        group.start_soon(lag.run)
        await anyio.wait_all_tasks_blocked()
        client = MessagesClient(http, Target(base_url=url), "key", timeout_s=5.0, lag=lag)
        mark = lag.open()
        outcome = await client.send(prepared)
        plain = lag.close(mark)
        group.cancel_scope.cancel()
    assert outcome.error is None
    assert plain is not None
    return outcome, plain


@pytest.mark.parametrize("prepared", [JSON, STREAMED], ids=["json", "streamed"])
async def test_an_answer_read_late_counts_its_wait_in_the_kernel(
    prepared: PreparedRequest,
) -> None:
    """Read 50 ms after it all arrived, with the loop idle: client_lag_ms says about 50 (to
    within a jiffy, and never more than the latency), where the loop lag alone says little."""
    async with raw_server(_answer) as url:
        outcome, plain = await _sent(_ReadLate(PooledTransport(4)), url, prepared)
    assert outcome.client_lag_ms is not None
    assert outcome.latency_ms is not None
    assert 40.0 <= outcome.client_lag_ms <= outcome.latency_ms
    assert plain < 30.0


@pytest.mark.parametrize("prepared", [JSON, STREAMED], ids=["json", "streamed"])
async def test_an_answer_read_at_once_adds_little(prepared: PreparedRequest) -> None:
    """Read as it arrives: client_lag_ms stays small."""
    async with raw_server(_answer) as url:
        outcome, _ = await _sent(PooledTransport(4), url, prepared)
    assert outcome.client_lag_ms is not None
    assert outcome.client_lag_ms < 20.0


async def test_a_transport_that_cannot_say_leaves_the_loop_lag() -> None:
    """A test double (no socket) read just as late: client_lag_ms is the loop lag, no more."""
    body = {"input_tokens": 3}
    double = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    outcome, plain = await _sent(_ReadLate(double), "http://emulator.test", JSON)
    assert outcome.client_lag_ms is not None
    assert outcome.client_lag_ms <= plain < 30.0
