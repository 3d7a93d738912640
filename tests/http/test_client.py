"""One attempt over the injected httpx client, against MockTransport handlers."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import anyio
import httpx
import pytest

from runner.config.types import Target
from runner.errors import (
    APIStatusError,
    ConnectionFailed,
    InvalidBeta,
    NotMessagesAPI,
    Overloaded,
    RateLimited,
    RequestFailed,
    RequestTimeout,
    ServerError,
    StreamCut,
    StreamErrorEvent,
)
from runner.http.client import MESSAGES_PATH, MessagesClient, PreparedRequest
from runner.http.lag import LoopLag
from runner.http.ratelimit import BucketState
from runner.http.transport import CONNECT_MS, RETURNED

BASE_URL = "http://testserver"
Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]

MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-test",
    "content": [{"type": "text", "text": "Hello!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 25, "output_tokens": 15},
}


class StepClock:
    """A monotonic clock that moves one second every time it is read."""

    def __init__(self) -> None:
        self._t = 0.0

    def now(self) -> float:
        self._t += 1.0
        return self._t


class Recorder:
    """Wraps a reply function and records every request the server received."""

    def __init__(self, reply: Callable[[httpx.Request], httpx.Response]) -> None:
        self._reply = reply
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return self._reply(request)


def _sse(*events: tuple[str, dict[str, Any]]) -> bytes:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


def _stream_events(stop: bool = True) -> list[tuple[str, dict[str, Any]]]:
    start = {**MESSAGE, "content": [], "stop_reason": None, "usage": {"input_tokens": 25}}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
        ),
        ("ping", {"type": "ping"}),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": _text("Hello")},
        ),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": _text("!")}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 15},
            },
        ),
    ]
    if stop:
        events.append(("message_stop", {"type": "message_stop"}))
    return events


def _text(text: str) -> dict[str, str]:
    return {"type": "text_delta", "text": text}


def _sse_response(body: bytes, **headers: str) -> httpx.Response:
    return httpx.Response(
        200, content=body, headers={"content-type": "text/event-stream", **headers}
    )


def _error_response(
    status: int, error_type: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> httpx.Response:
    error = {"type": error_type, "message": message, **extra}
    body = {"type": "error", "error": error, "request_id": "req_err"}
    return httpx.Response(status, json=body, headers={"request-id": "req_err", **(headers or {})})


async def _send(
    handler: Handler,
    *,
    stream: bool = False,
    headers: dict[str, str] | None = None,
    api_key: str | None = "sk-test",
    clock: StepClock | None = None,
) -> Any:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = MessagesClient(
            http,
            Target(base_url=BASE_URL, anthropic_version="2023-06-01"),
            api_key,
            timeout_s=30.0,
            clock=clock,
        )
        body = json.dumps({"model": "claude-test", "max_tokens": 10}).encode()
        return await client.send(PreparedRequest(MESSAGES_PATH, body, headers or {}, stream))


@pytest.mark.anyio
async def test_json_success_returns_the_message() -> None:
    """A 200 JSON answer comes back as the message, with status, request id and timings."""
    server = Recorder(lambda _: httpx.Response(200, json=MESSAGE, headers={"request-id": "req_1"}))

    outcome = await _send(server)

    assert outcome.error is None
    assert outcome.message == MESSAGE
    assert outcome.http_status == 200
    assert outcome.request_id == "req_1"
    assert outcome.ttft_ms is None
    assert outcome.latency_ms >= outcome.ttfb_ms >= 0
    assert outcome.sent_at.tzinfo is not None
    assert [(r.method, r.url.path) for r in server.requests] == [("POST", MESSAGES_PATH)]
    assert json.loads(server.requests[0].content) == {"model": "claude-test", "max_tokens": 10}


@pytest.mark.parametrize(
    ("extensions", "recorded"),
    [
        pytest.param({CONNECT_MS: 12.5}, 12.5, id="told"),
        pytest.param({}, None, id="not-told"),
    ],
)
@pytest.mark.anyio
async def test_the_connection_wait_the_transport_reports_is_recorded(
    extensions: dict[str, object], recorded: float | None
) -> None:
    """connect_ms is what the transport says its request waited for a connection, or null
    from a transport that does not say (a test double, a proxy's transport)."""

    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=MESSAGE, extensions=extensions)

    outcome = await _send(answer)
    assert outcome.error is None
    assert outcome.connect_ms == recorded


@pytest.mark.anyio
async def test_stream_success_folds_events_and_times_first_token() -> None:
    """A complete SSE stream becomes the message; TTFB < TTFT < total latency."""
    server = Recorder(lambda _: _sse_response(_sse(*_stream_events()), **{"request-id": "req_s"}))

    outcome = await _send(server, stream=True, clock=StepClock())

    assert outcome.error is None
    assert outcome.message["content"] == [{"type": "text", "text": "Hello!"}]
    assert outcome.message["usage"] == {"input_tokens": 25, "output_tokens": 15}
    assert outcome.message["stop_reason"] == "end_turn"
    assert outcome.request_id == "req_s"
    assert 0 < outcome.ttfb_ms < outcome.ttft_ms < outcome.latency_ms


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("given", "expected_beta"),
    [
        pytest.param({"anthropic-beta": "beta-a,beta-b"}, "beta-a,beta-b", id="with-betas"),
        pytest.param({}, None, id="no-betas"),
    ],
)
async def test_headers_sent(given: dict[str, str], expected_beta: str | None) -> None:
    """Key, version and content type are always sent; anthropic-beta only when given."""
    server = Recorder(lambda _: httpx.Response(200, json=MESSAGE))

    await _send(server, headers=given)

    received = server.requests[0].headers
    assert received["x-api-key"] == "sk-test"
    assert received["anthropic-version"] == "2023-06-01"
    assert received["content-type"] == "application/json"
    assert received.get("anthropic-beta") == expected_beta


@pytest.mark.anyio
async def test_the_request_is_the_one_httpx_would_build() -> None:
    """The request sent carries what httpx builds from the body and the client's headers
    merged with the request's: Host, Content-Length, the body; a request header replaces the
    client's of the same name in any case."""
    server = Recorder(lambda _: httpx.Response(200, json=MESSAGE))

    await _send(server, headers={"Accept": "text/plain", "anthropic-beta": "b"})

    sent = server.requests[0]
    body = json.dumps({"model": "claude-test", "max_tokens": 10}).encode()
    assert sent.content == body
    assert sent.headers["host"] == "testserver"
    assert sent.headers["content-length"] == str(len(body))
    assert sent.headers.get_list("accept") == ["text/plain"]
    assert sent.headers["anthropic-beta"] == "b"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "length"),
    [pytest.param("GET", None, id="get"), pytest.param("POST", "0", id="post")],
)
async def test_an_empty_body_has_a_length_only_where_httpx_gives_one(
    method: str, length: str | None
) -> None:
    """No body: Content-Length 0 on a POST, none on a GET, as httpx's own requests."""
    server = Recorder(lambda _: httpx.Response(200, json={"data": []}))
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as http:
        client = MessagesClient(http, Target(base_url=BASE_URL), "sk-test", timeout_s=30.0)
        await client.send(PreparedRequest("/v1/messages/batches", b"", method=method))

    assert server.requests[0].headers.get("content-length") == length
    assert server.requests[0].content == b""


@pytest.mark.anyio
async def test_no_key_header_without_a_key() -> None:
    """With no API key configured, no x-api-key header is sent at all."""
    server = Recorder(lambda _: httpx.Response(200, json=MESSAGE))

    await _send(server, api_key=None)

    assert "x-api-key" not in server.requests[0].headers


@pytest.mark.anyio
async def test_rate_limit_headers_are_parsed_into_limits() -> None:
    """The response's anthropic-ratelimit-* headers come back in outcome.limits."""
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": "2026-05-01T12:00:01Z",
        "anthropic-ratelimit-output-tokens-limit": "8000",
        "anthropic-ratelimit-output-tokens-remaining": "7000",
        "anthropic-ratelimit-output-tokens-reset": "2026-05-01T12:00:05Z",
    }
    server = Recorder(lambda _: httpx.Response(200, json=MESSAGE, headers=headers))

    outcome = await _send(server)

    assert outcome.limits.bucket("requests") == BucketState(50, 49, "2026-05-01T12:00:01Z")
    assert outcome.limits.bucket("output_tokens") == BucketState(8000, 7000, "2026-05-01T12:00:05Z")
    assert outcome.limits.bucket("input_tokens") == BucketState(None, None, None)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("reply", "error_class", "kind", "retryable"),
    [
        pytest.param(
            _error_response(400, "invalid_request_error", "Unsupported beta header: nope-2099"),
            InvalidBeta,
            "invalid_beta",
            False,
            id="400-unsupported-beta",
        ),
        pytest.param(
            _error_response(400, "invalid_request_error", "max_tokens: Field required"),
            APIStatusError,
            "invalid_request",
            False,
            id="400-other",
        ),
        pytest.param(
            _error_response(401, "authentication_error", "invalid x-api-key"),
            APIStatusError,
            "auth",
            False,
            id="401",
        ),
        pytest.param(
            _error_response(404, "not_found_error", "model: claude-nope"),
            APIStatusError,
            "not_found",
            False,
            id="404",
        ),
        pytest.param(
            _error_response(429, "rate_limit_error", "slow down", {"retry-after": "12"}),
            RateLimited,
            "rate_limited",
            True,
            id="429",
        ),
        pytest.param(
            _error_response(
                429,
                "rate_limit_error",
                "You have reached your API usage limits.",
                details={"error_code": "enforced_spend_limit_reached"},
            ),
            RateLimited,
            "spend_limit",
            False,
            id="429-spend-limit",
        ),
        pytest.param(
            _error_response(529, "overloaded_error", "Overloaded"),
            Overloaded,
            "overloaded",
            True,
            id="529",
        ),
        pytest.param(
            _error_response(500, "api_error", "Internal server error"),
            ServerError,
            "server_error",
            True,
            id="500",
        ),
        pytest.param(
            _error_response(504, "timeout_error", "Gateway timeout"),
            ServerError,
            "timeout",
            True,
            id="504",
        ),
        pytest.param(
            httpx.Response(502, content=b"<html>Bad gateway</html>"),
            ServerError,
            "server_error",
            True,
            id="502-not-json",
        ),
    ],
)
async def test_status_failures_are_typed(
    reply: httpx.Response, error_class: type[RequestFailed], kind: str, retryable: bool
) -> None:
    """A non-2xx answer becomes the typed error of its status, with kind and retryability."""
    outcome = await _send(Recorder(lambda _: reply))

    assert outcome.message is None
    assert type(outcome.error) is error_class
    assert outcome.error.kind == kind
    assert outcome.error.retryable is retryable
    assert outcome.http_status == reply.status_code
    assert outcome.error.info.status == reply.status_code


@pytest.mark.anyio
async def test_rate_limited_carries_retry_after_and_body_fields() -> None:
    """A 429 carries the retry-after seconds, the error type and the request id as data."""
    reply = _error_response(429, "rate_limit_error", "slow down", {"retry-after": "12"})

    outcome = await _send(Recorder(lambda _: reply))

    info = outcome.error.info
    assert (info.retry_after_s, info.api_error_type, info.message, info.request_id) == (
        12.0,
        "rate_limit_error",
        "slow down",
        "req_err",
    )
    assert outcome.limits.retry_after_s == 12.0


@pytest.mark.anyio
async def test_spend_limit_carries_its_error_code() -> None:
    """A spend-cap 429 keeps error.details.error_code in the error info."""
    reply = _error_response(
        429, "rate_limit_error", "cap", details={"error_code": "enforced_spend_limit_reached"}
    )

    outcome = await _send(Recorder(lambda _: reply))

    assert outcome.error.info.error_code == "enforced_spend_limit_reached"
    assert outcome.error.info.retry_after_s is None


@pytest.mark.anyio
async def test_stream_without_message_stop_is_cut() -> None:
    """A 200 stream that ends before message_stop is a StreamCut, with no message."""
    server = Recorder(lambda _: _sse_response(_sse(*_stream_events(stop=False))))

    outcome = await _send(server, stream=True)

    assert isinstance(outcome.error, StreamCut)
    assert outcome.error.kind == "stream_cut"
    assert outcome.message is None
    assert outcome.http_status == 200


@pytest.mark.anyio
async def test_error_event_in_stream_is_a_stream_error() -> None:
    """An `event: error` after a 200 becomes StreamErrorEvent with the named error type."""
    events = [
        *_stream_events(stop=False)[:2],
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Over"}}),
    ]
    server = Recorder(lambda _: _sse_response(_sse(*events)))

    outcome = await _send(server, stream=True)

    assert isinstance(outcome.error, StreamErrorEvent)
    assert outcome.error.info.api_error_type == "overloaded_error"
    assert outcome.error.retryable is True
    assert outcome.message is None


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("failure", "error_class", "kind"),
    [
        pytest.param(httpx.ConnectError, ConnectionFailed, "connection", id="connect-error"),
        pytest.param(httpx.RemoteProtocolError, ConnectionFailed, "connection", id="protocol"),
        pytest.param(httpx.ConnectTimeout, RequestTimeout, "timeout", id="connect-timeout"),
        pytest.param(httpx.ReadTimeout, RequestTimeout, "timeout", id="read-timeout"),
    ],
)
async def test_transport_failures_before_an_answer(
    failure: type[httpx.TransportError], error_class: type[RequestFailed], kind: str
) -> None:
    """A transport failure before any response is a ConnectionFailed or a RequestTimeout."""

    async def handler(request: httpx.Request) -> httpx.Response:
        raise failure("boom", request=request)

    outcome = await _send(handler)

    assert type(outcome.error) is error_class
    assert outcome.error.kind == kind
    assert outcome.http_status is None
    assert outcome.latency_ms is not None


@pytest.mark.anyio
async def test_read_error_mid_stream_is_a_stream_cut() -> None:
    """A connection that breaks after the 200 while streaming is a StreamCut."""
    complete = _sse(*_stream_events())

    async def broken_body() -> AsyncIterator[bytes]:
        yield complete[: len(complete) // 2]
        raise httpx.ReadError("connection reset")

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=broken_body(), headers={"content-type": "text/event-stream"}
        )

    outcome = await _send(handler, stream=True)

    assert isinstance(outcome.error, StreamCut)
    assert outcome.http_status == 200
    assert outcome.message is None


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("reply", "stream"),
    [
        pytest.param(
            lambda _: httpx.Response(200, content=b"<html>Welcome</html>"), False, id="json-body"
        ),
        pytest.param(
            lambda _: _sse_response(b'event: message_start\ndata: {"type": "mess\n\n'),
            True,
            id="sse-data",
        ),
    ],
)
async def test_unparseable_answer_is_a_failure_not_a_crash(
    reply: Callable[[httpx.Request], httpx.Response], stream: bool
) -> None:
    """A 200 whose body does not parse comes back as a non-retryable failure, never raised,
    that says the target does not answer like a Messages API."""
    outcome = await _send(Recorder(reply), stream=stream)

    assert type(outcome.error) is NotMessagesAPI
    assert outcome.error.classification.target is not None
    assert outcome.error.retryable is False
    assert outcome.http_status == 200
    assert outcome.message is None
    assert outcome.latency_ms is not None


def _answering(body: bytes, *, stream: bool) -> Recorder:
    """A server whose every answer is a 200 carrying body, as SSE or as plain JSON."""
    if stream:
        return Recorder(lambda _: _sse_response(body))
    return Recorder(lambda _: httpx.Response(200, content=body))


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_an_answer_nested_past_the_parsers_limit_is_a_failed_attempt(stream: bool) -> None:
    """A server sending JSON nested 100,000 deep gets an error row, not a RecursionError."""
    deep = b"[" * 100_000 + b"]" * 100_000
    body = b"event: message_start\ndata: " + deep + b"\n\n" if stream else deep
    outcome = await _send(_answering(body, stream=stream), stream=stream)
    assert outcome.message is None
    assert "could not be parsed (RecursionError" in str(outcome.error)


_START = b'event: message_start\ndata: {"message": {"id": "m", "content": []}}\n\n'
_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def _event(name: str, data: str) -> bytes:
    return f"event: {name}\ndata: {data}\n\n".encode()


def _json_message(**fields: object) -> bytes:
    message = {"id": "m", "type": "message", "role": "assistant", "content": []}
    return json.dumps({**message, **fields}).encode()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "stream", "said"),
    [
        pytest.param(b"[1]", False, "the answer is an array", id="json-array"),
        pytest.param(_json_message(usage="x"), False, "usage is a string", id="usage-string"),
        pytest.param(_json_message(content=[1]), False, "a content block is a number", id="int"),
        pytest.param(_json_message(stop_reason=5), False, "stop_reason is a number", id="stop"),
        pytest.param(
            _json_message(content=[{"type": "text", "text": ["a"]}]),
            False,
            "a text block's text is an array",
            id="text-array",
        ),
        pytest.param(
            _json_message(content=[{"type": "tool_use", "id": "t", "name": 7, "input": {}}]),
            False,
            "a tool_use block's name is a number",
            id="tool-name",
        ),
        pytest.param(_event("message_start", "[1]"), True, "holds no JSON object", id="sse-list"),
        pytest.param(
            _event("message_start", '{"message": [1, 2]}') + _STOP,
            True,
            "message_start event is not shaped",
            id="sse-message-list",
        ),
        pytest.param(
            _START + _event("content_block_start", '{"index": 100000000}'),
            True,
            "block 100000000 opened after 0 blocks",
            id="sse-huge-index",
        ),
        pytest.param(
            _START + _event("content_block_start", '{"index": -5}') + _STOP,
            True,
            "block -5 opened",
            id="sse-negative-index",
        ),
        pytest.param(
            _START + _event("content_block_delta", '{"index": 0, "delta": "zz"}') + _STOP,
            True,
            "content_block_delta event is not shaped",
            id="sse-delta-string",
        ),
        pytest.param(
            _START + _event("message_delta", '{"delta": {}, "usage": "q"}') + _STOP,
            True,
            "message_delta event is not shaped",
            id="sse-usage-string",
        ),
        pytest.param(
            _START + _event("message_delta", '{"stop_reason": 5}') + _STOP,
            True,
            "stop_reason is a number",
            id="sse-stop-reason",
        ),
    ],
)
async def test_an_answer_of_the_wrong_shape_is_a_failed_attempt(
    body: bytes, stream: bool, said: str
) -> None:
    """JSON that parses but is not shaped like the Messages API's (a hostile server's, or
    another API's) is a not_messages_api failure naming what is wrong, never an exception
    that stops the run, and a block index far ahead allocates nothing."""
    outcome = await _send(_answering(body, stream=stream), stream=stream)
    assert type(outcome.error) is NotMessagesAPI
    assert said in str(outcome.error)
    assert outcome.message is None


@pytest.mark.anyio
async def test_a_header_sent_twice_is_read_as_httpx_joins_it() -> None:
    """A response header repeated is read as one value joined with ", " (httpx's reading),
    so a repeated request-id is kept whole rather than cut to its last value."""
    reply = httpx.Response(
        200, json=MESSAGE, headers=[("request-id", "req_a"), ("Request-Id", "req_b")]
    )
    outcome = await _send(Recorder(lambda _: reply))

    assert outcome.request_id == "req_a, req_b"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param([("request-id", "req_\u00e9".encode())], id="utf-8"),
        pytest.param([("request-id", b"req_\xe9")], id="latin-1"),
        pytest.param([("x-note", "a\nb"), ("request-id", "req_a")], id="newline-in-a-value"),
    ],
)
async def test_unusual_response_headers_are_read_as_httpx_reads_them(
    raw: list[tuple[str, str | bytes]],
) -> None:
    """Headers beyond plain ASCII (or a value holding a newline) are read with the encoding
    httpx picks, each name paired with its own value."""
    reply = httpx.Response(200, json=MESSAGE, headers=raw)
    expected = httpx.Headers(raw).get("request-id")

    outcome = await _send(Recorder(lambda _: reply))

    assert outcome.request_id == expected


class _ArrivedBeforeSent(httpx.AsyncByteStream):
    """A body whose end tells the client its last bytes reached the kernel 1 s ago, before
    the request was sent: as a reading one jiffy over does for an answer quicker than a
    jiffy (or a hostile server's bytes sent ahead of the request)."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield json.dumps(MESSAGE).encode()
        returned = RETURNED.get()
        if returned is not None:
            returned.at = time.perf_counter() - 1.0


@pytest.mark.anyio
async def test_the_wait_for_a_read_never_exceeds_the_attempts_latency() -> None:
    """An answer cannot have arrived before its request was sent: a transport that says it
    did leaves client_lag_ms no larger than latency_ms."""
    lag = LoopLag()
    json_type = {"content-type": "application/json"}
    transport = httpx.MockTransport(
        lambda _: httpx.Response(200, headers=json_type, stream=_ArrivedBeforeSent())
    )
    async with httpx.AsyncClient(transport=transport) as http, anyio.create_task_group() as group:
        group.start_soon(lag.run)
        await anyio.wait_all_tasks_blocked()
        target = Target(base_url="http://api.test")
        client = MessagesClient(http, target, "k", timeout_s=5.0, lag=lag)
        outcome = await client.send(PreparedRequest(MESSAGES_PATH, b"{}"))
        group.cancel_scope.cancel()

    assert outcome.error is None
    assert outcome.latency_ms is not None
    assert outcome.client_lag_ms is not None
    assert outcome.client_lag_ms <= outcome.latency_ms
