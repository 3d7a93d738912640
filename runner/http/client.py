"""One HTTP attempt of one Messages API request, timed, over the injected `httpx.AsyncClient`.

`MessagesClient.send` never retries and never raises for request failures: it returns an
`AttemptOutcome` holding either the final message or a typed `RequestFailed`, plus timings
measured from the moment the request is sent (and, where the transport says, how long of that
the request waited for a connection: `transport.CONNECT_MS`) and the rate-limit headers of the
response.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
import httpx

from runner.clock import Clock, MonotonicClock, utc_now
from runner.config.types import Target
from runner.errors import (
    APIStatusError,
    ConnectionFailed,
    ErrorInfo,
    NotMessagesAPI,
    RequestFailed,
    RequestTimeout,
    StreamCut,
    failure_for,
)
from runner.http.lag import LoopLag, client_lag
from runner.http.message import misshapen
from runner.http.ratelimit import RateLimitSnapshot, read_snapshot
from runner.http.sse import EventSplitter
from runner.http.stream import MessageAccumulator
from runner.http.transport import CONNECT_MS, RETURNED, Returned
from runner.redact import Redactor

MESSAGES_PATH = "/v1/messages"
_SENDS_A_LENGTH = frozenset({"POST", "PUT", "PATCH"})  # Content-Length: 0 when empty
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
USER_AGENT = "beta-runner"


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A request ready to send: path, per-request headers and the serialised JSON body."""

    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    stream: bool = False
    method: str = "POST"


@dataclass(slots=True)
class AttemptOutcome:
    """What one attempt produced; `error` is None on success."""

    sent_at: datetime
    message: dict[str, Any] | None = None
    error: RequestFailed | None = None
    http_status: int | None = None
    request_id: str | None = None
    limits: RateLimitSnapshot | None = None
    ttfb_ms: float | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None
    client_lag_ms: float | None = None
    connect_ms: float | None = None  # how long the request waited for a connection


HeadersSeen = Callable[["AttemptOutcome"], None]
"""Told the outcome of an attempt as soon as its response headers arrive."""


class MessagesClient:
    """Sends prepared requests to one target with one API key."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        target: Target,
        api_key: str | None,
        *,
        timeout_s: float,
        clock: Clock | None = None,
        lag: LoopLag | None = None,
    ) -> None:
        self._http = http
        self._lag = lag
        self._base = target.base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._clock = clock or MonotonicClock()
        self._url: dict[str, httpx.URL] = {}
        # The request is built here, not by `build_request`, which merges the client's
        # headers, cookies (none are kept), parameters and timeout anew on every call.
        self._extensions = {"timeout": http.timeout.as_dict()}
        self._headers = {
            **http.headers,
            "anthropic-version": target.anthropic_version,
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": USER_AGENT,
        }
        if api_key:
            self._headers["x-api-key"] = api_key
        # What every attempt sends, encoded once: Host first, as httpx adds it.
        self._sent = httpx.Headers({"Host": httpx.URL(self._base).netloc.decode(), **self._headers})
        self._redactor = Redactor((api_key,))

    async def send(
        self, prepared: PreparedRequest, on_headers: HeadersSeen | None = None
    ) -> AttemptOutcome:
        """Send once; failures come back as data in `outcome.error`. `on_headers` is told the
        outcome so far (status, request id, rate-limit headers, ttfb) as soon as the response
        headers arrive, before the body is read."""
        request = self._request(prepared)
        outcome = AttemptOutcome(sent_at=utc_now())
        lag = self._lag
        mark = lag.open() if lag is not None else 0
        returned = Returned()
        token = RETURNED.set(returned if lag is not None else None)
        try:
            await self._timed(request, prepared.stream, outcome, on_headers)
        finally:  # also when cancelled: an open mark would keep its lags forever
            RETURNED.reset(token)
            if lag is not None:
                waited = returned.wait_ms()
                outcome.client_lag_ms = client_lag(lag.close(mark), waited, outcome.latency_ms)
        return self._scrubbed(outcome)

    def _request(self, prepared: PreparedRequest) -> httpx.Request:
        """The request httpx would build from the body and the merged headers (the request's
        own replacing the client's, by name in any case), from headers encoded once: building
        it from a dict normalised and encoded every header anew, three times over."""
        headers = httpx.Headers(self._sent)
        for name, value in prepared.headers.items():
            headers[name] = value
        body = prepared.body
        if body or prepared.method in _SENDS_A_LENGTH:
            headers["Content-Length"] = str(len(body))
        request = httpx.Request(
            prepared.method,
            self._url_for(prepared.path),
            headers=headers,
            stream=httpx.ByteStream(body),
            extensions=self._extensions,
        )
        request.read()  # the body is in memory: `content` holds it, as for `content=`
        return request

    def _url_for(self, path: str) -> httpx.URL:
        url = self._url.get(path)
        if url is None:
            url = self._url[path] = httpx.URL(self._base + path)
        return url

    async def _timed(
        self,
        request: httpx.Request,
        stream: bool,
        outcome: AttemptOutcome,
        on_headers: HeadersSeen | None,
    ) -> None:
        """Exchange once within the per-attempt timeout; the failure, if any, as data."""
        started = self._clock.now()
        try:
            # A bare cancel scope: `fail_after` wraps the same scope in two generator-based
            # context managers, a cost every attempt paid.
            with anyio.move_on_after(self._timeout_s) as deadline:
                await self._exchange(request, stream, outcome, started, on_headers)
            if deadline.cancelled_caught:
                raise TimeoutError
        except TimeoutError:
            outcome.error = RequestTimeout(
                f"No complete answer within {self._timeout_s:g} s; raise [run] timeout_s "
                "if the model needs longer."
            )
        except httpx.TimeoutException as exc:
            outcome.error = RequestTimeout(f"The request timed out: {type(exc).__name__}.")
        except httpx.TransportError as exc:
            outcome.error = _transport_failure(exc, outcome)
        except RequestFailed as exc:
            outcome.error = exc
        # A 200 whose JSON or SSE data does not parse (or nests past the parser's recursion
        # limit, which a hostile server can send): a row, not a crash.
        except (ValueError, RecursionError) as exc:
            outcome.error = NotMessagesAPI(
                f"The answer could not be parsed ({type(exc).__name__}: {exc}); check that the "
                "base URL points at a Messages API."
            )
        outcome.latency_ms = self._since(started)

    def _scrubbed(self, outcome: AttemptOutcome) -> AttemptOutcome:
        """No part of the key (or any key-shaped text) leaves the client in an outcome."""
        outcome.request_id = self._redactor.scrub_optional(outcome.request_id)
        if outcome.error is not None:
            outcome.error = outcome.error.scrubbed(self._redactor.scrub)
        if outcome.message is not None:
            outcome.message = self._redactor.scrub_json(outcome.message)
        return outcome

    async def json_lines(self, url: str) -> AsyncIterator[dict[str, Any]]:
        """GET a JSON Lines document (a relative path or an absolute URL), one object per line.

        Raises the typed failure for a non-2xx answer or a broken connection, and refuses a URL
        that is not under the target's base URL (the request carries the API key).
        """
        absolute = url if url.startswith(("http://", "https://")) else self._base + url
        if not absolute.startswith(self._base + "/"):
            raise RequestFailed(
                f"The server pointed at {absolute}, which is not on the target {self._base}; "
                "it is not fetched (the API key would go with it)."
            )
        headers = {**self._headers, "accept": "application/binary"}
        try:
            async with self._http.stream("GET", absolute, headers=headers) as response:
                if response.status_code >= 300:
                    limits = read_snapshot(response.headers, utc_now())
                    failure = _status_failure(response, await response.aread(), limits)
                    raise failure.scrubbed(self._redactor.scrub)
                async for line in response.aiter_lines():
                    if line.strip():
                        yield _json_line(self._redactor.scrub(line))
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"Reading {absolute} failed: {type(exc).__name__}.") from exc

    async def _exchange(
        self,
        request: httpx.Request,
        stream: bool,
        outcome: AttemptOutcome,
        started: float,
        on_headers: HeadersSeen | None,
    ) -> None:
        response = await self._http.send(request, stream=True)
        try:
            outcome.ttfb_ms = self._since(started)
            connect_ms = response.extensions.get(CONNECT_MS)
            outcome.connect_ms = connect_ms if isinstance(connect_ms, float) else None
            outcome.http_status = response.status_code
            headers = _header_dict(response.headers)
            outcome.request_id = headers.get("request-id")
            outcome.limits = read_snapshot(headers, outcome.sent_at)
            if on_headers is not None:
                on_headers(outcome)
            if response.status_code >= 300:
                raise _status_failure(response, await response.aread(), outcome.limits)
            _check_content_type(response.status_code, headers)
            if stream:
                encoded = headers.get("content-encoding", "identity") != "identity"
                outcome.message = await self._read_stream(response, encoded, outcome, started)
            else:
                body = json.loads(await response.aread())
                outcome.message = (
                    _message(body) if request.url.path.endswith(MESSAGES_PATH) else body
                )
        finally:
            await response.aclose()

    async def _read_stream(
        self, response: httpx.Response, encoded: bool, outcome: AttemptOutcome, started: float
    ) -> dict[str, Any]:
        accumulator = MessageAccumulator()
        splitter = EventSplitter()
        # An unencoded body is read as the transport delivers it: httpx's decoder and
        # chunker layers (aiter_bytes, aiter_raw) would each be resumed once per chunk.
        chunks = response.aiter_bytes() if encoded else response.stream
        assert isinstance(chunks, AsyncIterable)
        async for chunk in chunks:
            carried_content = accumulator.feed_events(splitter.feed(chunk))
            if carried_content and outcome.ttft_ms is None:
                outcome.ttft_ms = self._since(started)
        if not accumulator.started:
            raise NotMessagesAPI("The answer is not a Messages API stream (no message_start).")
        if not accumulator.complete:
            raise StreamCut("The stream ended before message_stop; the answer is incomplete.")
        return _message(accumulator.result())

    def _since(self, started: float) -> float:
        return (self._clock.now() - started) * 1000.0


def _header_dict(headers: httpx.Headers) -> dict[str, str]:
    """`dict(headers.items())`. The usual headers (ASCII, each name once, no newline in one)
    are decoded in a few C passes: all names joined into one string and all values into
    another, each decoded once and split; per header, Python-level decoding costs several
    times more (and httpx's `items()` first checks the encoding of every header). Any other
    headers go through `items()`, which picks httpx's encoding and joins repeated values."""
    raw = headers.raw
    if raw:
        names, values = zip(*raw, strict=True)
        try:
            keys = b"\n".join(names).lower().decode("ascii").split("\n")
            texts = b"\n".join(values).decode("ascii").split("\n")
        except UnicodeDecodeError:
            return dict(headers.items())
        found = dict(zip(keys, texts, strict=False))  # unequal lengths fail the check below
        if len(found) == len(raw) == len(keys) == len(texts):
            return found
    return dict(headers.items())


def _json_line(line: str) -> dict[str, Any]:
    """One JSON Lines object; ValueError (like any malformed line) when it nests too deep or
    is not an object."""
    try:
        value = json.loads(line)
    except RecursionError:
        raise ValueError("a JSON Lines line nests too deep to parse") from None
    if not isinstance(value, dict):
        raise ValueError("a JSON Lines line is not an object")
    return value


def _transport_failure(exc: httpx.TransportError, outcome: AttemptOutcome) -> RequestFailed:
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if outcome.http_status is not None:
        return StreamCut(f"The connection broke while the answer was streaming ({detail}).")
    cause, hint = _unreachable(exc) if isinstance(exc, httpx.ConnectError) else (None, "")
    return ConnectionFailed(f"Could not get an answer from the server ({detail}).", cause, hint)


def _unreachable(exc: BaseException) -> tuple[str | None, str]:
    """Why a connection could not be opened, when the target itself is unreachable: by the
    type of the underlying OS error (refused, no such host, TLS)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused", "is the server running?"
        if isinstance(seen, socket.gaierror):
            return "the host name does not resolve", "check the host in the base URL"
        if isinstance(seen, ssl.SSLError):
            return "the TLS handshake failed", "check http:// versus https:// and certificates"
        seen = seen.__cause__ or seen.__context__
    return None, ""


def _check_content_type(status: int, headers: dict[str, str]) -> None:
    if headers.get("content-type", "").startswith("text/html"):
        raise NotMessagesAPI(
            f"The server answered {status} with an HTML page, not a Messages API "
            "response; check the base URL."
        )


def _message(body: object) -> dict[str, Any]:
    problem = misshapen(body)
    if problem is not None:
        raise NotMessagesAPI(f"The answer is JSON but not a Messages API message: {problem}.")
    assert isinstance(body, dict)
    return body


def _status_failure(
    response: httpx.Response, raw: bytes, limits: RateLimitSnapshot
) -> APIStatusError:
    return failure_for(_error_info(response, raw, limits))


def _error_info(response: httpx.Response, raw: bytes, limits: RateLimitSnapshot) -> ErrorInfo:
    try:
        body = json.loads(raw)
        error = body.get("error") or {}
        details = error.get("details") or {}
        message, error_type = str(error.get("message", "")), error.get("type")
        error_code = details.get("error_code") if isinstance(details, dict) else None
    except (ValueError, AttributeError):
        message, error_type, error_code = raw[:500].decode("utf-8", "replace"), None, None
    return ErrorInfo(
        status=response.status_code,
        api_error_type=error_type,
        message=message,
        request_id=response.headers.get("request-id"),
        retry_after_s=limits.retry_after_s,
        error_code=error_code,
    )
