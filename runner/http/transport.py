"""The run's transport: aiohttp's connection pool under the run's one `httpx.AsyncClient`.

The client stays httpx (the seam every test double uses); only the transport below it is
httpx-aiohttp's `AiohttpTransport`, the one the official SDK ships as its fast option. Its HTTP/1.1
parser and pool are C code: a streamed request costs about half the CPU of httpcore's pure-Python
path, whose pool also re-examines every connection on each request (cost growing with the pool's
size). Proxied URLs (HTTPS_PROXY and friends) still go through httpx's own transport.

Contract, as before the change:

- at most `connections` connections (the run's concurrency), kept alive between requests;
- httpx's timeouts per request: `connect` bounds opening a connection, `read` each wait for
  bytes, `pool` the wait for a free connection; the per-attempt bound is the caller's;
- no cookies kept, by the aiohttp session either (`NoCookies` is the httpx side);
- bodies are read in chunks as they arrive (never the whole body first);
- every aiohttp failure surfaces as the httpx exception httpx's own transport raises for the
  same event (`_HTTPX_ERROR`), since classification downstream is by httpx type: a refused
  connection, a DNS or TLS failure -> `ConnectError`; a connection closed before the answer ->
  `RemoteProtocolError`; reset or cut while reading -> `ReadError`; timeouts -> `ConnectTimeout`
  / `ReadTimeout`. httpx-aiohttp's own table maps a plain connection error to `ConnectTimeout`,
  which would record a reset as a timeout; this module corrects that;
- a request's headers and body are written as soon as it has a connection (`_EagerBody`), on
  Python 3.11 as aiohttp itself does from 3.12, not one loop iteration later;
- each response says how long its request waited for a connection (`CONNECT_MS` in its
  `extensions`, ms): a free one from the pool, or a new one opened (TCP, and TLS for https).
  The pool's connector times its own `connect` and hands the figure back through a context
  variable set for the request's task (aiohttp gives no per-request hook on this path).

And one addition: when a response's body ends (EOF, streamed or read whole), the transport
knows when the answer's last bytes reached this machine's kernel: now less the kernel's time
since the connection last received data (`runner.tcp_info`, one getsockopt; unbiased, within
one jiffy of 1-10 ms), on the process's monotonic clock (`time.perf_counter`, the one latency
is measured on). It tells only a caller that asked, by setting a fresh `Returned` in
`RETURNED` for its task; `Returned.wait_ms()` at the caller's clock stop is how long it took
to finish with an answer that had arrived. None where unknown (no socket, one closed, not
Linux). The socket is taken when the connection is had: aiohttp releases it at EOF, and
should the pool lend it to another request that receives bytes before the reading, the
arrival read is theirs: later, so the wait reads shorter, never longer.
"""

from __future__ import annotations

import http.cookiejar
import sys
import time
from collections.abc import AsyncIterator, Coroutine, Generator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver
from httpx_aiohttp import AiohttpTransport

from runner.tcp_info import SocketOptions, since_received_s

KEEPALIVE_S = 5.0  # httpx's default keep-alive expiry
CONNECT_MS = "connect_ms"  # the response extension: ms the request waited for a connection

# Most specific first is not needed: the lookup walks the raised type's MRO.
_HTTPX_ERROR: dict[type[BaseException], type[httpx.TransportError]] = {
    aiohttp.ConnectionTimeoutError: httpx.ConnectTimeout,
    aiohttp.SocketTimeoutError: httpx.ReadTimeout,
    aiohttp.ServerTimeoutError: httpx.ReadTimeout,
    aiohttp.ClientProxyConnectionError: httpx.ProxyError,
    aiohttp.ClientHttpProxyError: httpx.ProxyError,
    aiohttp.ClientConnectorError: httpx.ConnectError,  # refused, DNS, TLS handshake
    aiohttp.ServerDisconnectedError: httpx.RemoteProtocolError,
    aiohttp.ClientPayloadError: httpx.ReadError,
    aiohttp.ClientConnectionResetError: httpx.WriteError,
    aiohttp.ClientOSError: httpx.ReadError,
    aiohttp.ClientConnectionError: httpx.ReadError,
    aiohttp.ClientResponseError: httpx.RemoteProtocolError,  # a malformed answer
    aiohttp.InvalidURL: httpx.UnsupportedProtocol,
    aiohttp.NonHttpUrlClientError: httpx.UnsupportedProtocol,
    aiohttp.ClientError: httpx.TransportError,
}


@dataclass(slots=True)
class _Connecting:
    """Where the connector leaves how long one request's connection took (ms) and its socket."""

    ms: float | None = None
    socket: SocketOptions | None = None


_CONNECTING: ContextVar[_Connecting | None] = ContextVar("connecting", default=None)


@dataclass(slots=True)
class Returned:
    """When the last bytes of a response's body reached the kernel (`time.perf_counter` s),
    left by the transport at the body's end; None until then, or where unknown."""

    at: float | None = None

    def wait_ms(self) -> float | None:
        """ms from the bytes' arrival to now (None: unknown): the caller's share of the way
        back when read at its clock's stop."""
        return None if self.at is None else (time.perf_counter() - self.at) * 1000.0


# Set by a caller for its task (a fresh `Returned` per request); unset, nothing is read. Not a
# response extension: the body ends after the response was handed up, and the caller's code
# that stops its clock need not hold the response.
RETURNED: ContextVar[Returned | None] = ContextVar("returned", default=None)


class _TimedConnector(aiohttp.TCPConnector):
    """aiohttp's pool, timing how long each `connect` (pool wait and opening) took."""

    async def connect(
        self,
        req: aiohttp.ClientRequest,
        traces: list[aiohttp.tracing.Trace],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 -- aiohttp's signature, kept as it is
    ) -> aiohttp.connector.Connection:
        started = time.perf_counter()
        connection = await super().connect(req, traces, timeout)
        slot = _CONNECTING.get()
        if slot is not None:
            slot.ms = (time.perf_counter() - started) * 1000.0
            transport = connection.transport
            slot.socket = None if transport is None else transport.get_extra_info("socket")
        return connection


class _EagerBody(aiohttp.ClientRequest):
    """aiohttp's request, whose body writer takes its first step at once.

    aiohttp writes a request's headers and body from a task; from Python 3.12 it starts that
    task eagerly, but on 3.11 the task's first step waits for the next loop iteration, and the
    request sits in a buffer meanwhile: on a busy loop milliseconds of every attempt's latency
    (measured at concurrency 256: each keep-alive request left one iteration after it was
    sent). Here the writer's first step runs as the writer is made, as on 3.12; what is left
    of it when it must wait (a full socket buffer) is resumed by aiohttp's task (`_Resumed`).
    """

    def write_bytes(
        self,
        writer: aiohttp.abc.AbstractStreamWriter,
        conn: aiohttp.connector.Connection,
        content_length: int | None = None,
    ) -> Coroutine[object, object, None]:
        return _started(super().write_bytes(writer, conn, content_length))


def _started(coro: Coroutine[object, object, None]) -> Coroutine[object, object, None]:
    """Run `coro` up to its first wait now; the rest as a coroutine for the caller's task."""
    try:
        waiting = coro.send(None)
    except StopIteration:
        return _finished(None)
    except BaseException as exc:  # the task that awaits the rest raises it, as it would have
        return _finished(exc)
    return _rest(_Resumed(coro, waiting))


async def _finished(error: BaseException | None) -> None:
    if error is not None:
        raise error


async def _rest(resumed: _Resumed) -> None:
    await resumed


class _Resumed:
    """The rest of a coroutine already stepped once: waits on what it was waiting on, then
    carries on, passing in what the awaiting task receives (a result or an exception)."""

    def __init__(self, coro: Coroutine[object, object, None], waiting: object) -> None:
        self._coro = coro
        self._waiting = waiting

    def __await__(self) -> Generator[object, None, None]:
        waiting = self._waiting
        while True:
            error: BaseException | None = None
            try:
                yield waiting
            except GeneratorExit:  # the awaiting task itself is being discarded
                self._coro.close()
                raise
            except BaseException as exc:  # cancellation included: the coroutine handles it
                error = exc
            try:
                waiting = self._coro.send(None) if error is None else self._coro.throw(error)
            except StopIteration:
                return


REQUEST_CLASS = _EagerBody if sys.version_info < (3, 12) else aiohttp.ClientRequest


class PooledTransport(httpx.AsyncBaseTransport):
    """`connections` pooled aiohttp connections behind httpx's transport interface.

    `resolver` replaces aiohttp's DNS resolver (tests use it to fail a lookup offline).
    """

    def __init__(self, connections: int, *, resolver: AbstractResolver | None = None) -> None:
        self._connections = max(1, connections)
        self._resolver = resolver
        self._inner = AiohttpTransport(client=self._session)

    def _session(self) -> aiohttp.ClientSession:
        """Built at the first request, inside the running event loop, as aiohttp requires."""
        connector = _TimedConnector(
            limit=self._connections,
            limit_per_host=0,
            keepalive_timeout=KEEPALIVE_S,
            ssl=self._inner.ssl_context,
            resolver=self._resolver,
        )
        return aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), request_class=REQUEST_CLASS
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send through the pool; the body streams from the connection until closed. The
        response's `CONNECT_MS` extension says how long getting a connection took."""
        slot = _Connecting()
        token = _CONNECTING.set(slot)
        try:
            response = await self._inner.handle_async_request(request)
        except _FAILURES as exc:
            _reraise(exc)
        finally:
            _CONNECTING.reset(token)
        response.stream = _Body(response.stream, slot.socket)
        response.extensions[CONNECT_MS] = slot.ms
        return response

    async def aclose(self) -> None:
        """Close the session and its connections."""
        try:
            await self._inner.aclose()
        except _FAILURES as exc:
            _reraise(exc)


class _Body(httpx.AsyncByteStream):
    """A response body whose failures are the same httpx exceptions as the request's, and
    whose end says when its last bytes arrived (`RETURNED`)."""

    def __init__(
        self, stream: httpx.AsyncByteStream | httpx.SyncByteStream, sock: SocketOptions | None
    ) -> None:
        assert isinstance(stream, httpx.AsyncByteStream)
        self._stream = stream
        self._socket = sock

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except _FAILURES as exc:
            _reraise(exc)
        returned = RETURNED.get()
        if returned is not None:
            since = since_received_s(self._socket)
            returned.at = None if since is None else time.perf_counter() - since

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        except _FAILURES as exc:
            _reraise(exc)


# Caught with try/except at each call, not a @contextmanager: that built and drove a
# generator three times per request.
_FAILURES = (httpx.TransportError, aiohttp.ClientError)


def _reraise(exc: httpx.TransportError | aiohttp.ClientError) -> NoReturn:
    """Raise an aiohttp failure (raw, or as httpx-aiohttp translated it) as `_HTTPX_ERROR`
    says, keeping the aiohttp exception as the cause; anything else as it is."""
    original = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
    if not isinstance(original, aiohttp.ClientError):
        raise exc
    raise httpx_error(original) from original


def httpx_error(exc: aiohttp.ClientError) -> httpx.TransportError:
    """The httpx exception for an aiohttp failure, with aiohttp's message."""
    for kind in type(exc).__mro__:
        mapped = _HTTPX_ERROR.get(kind)
        if mapped is not None:
            return mapped(str(exc) or type(exc).__name__)
    return httpx.TransportError(str(exc))  # pragma: no cover -- ClientError is in the table


class NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing.

    Every request of an experiment must be independent: a cookie set by a gateway in one
    answer and sent back with later requests could make arms differ (sticky routing), so none
    is kept. It also spares parsing every response's headers for Set-Cookie.
    """

    def extract_cookies(self, response: Any, request: Any) -> None:
        """Ignore the response's cookies."""


class _Discarded(httpx.Cookies):
    """httpx's cookie store over a `NoCookies` jar, which does not even read a response:
    httpx's own builds urllib stand-ins of the request and response for every answer (about
    5% of a streamed request's CPU) only for the jar to ignore them."""

    def extract_cookies(self, response: httpx.Response) -> None:
        """Keep nothing."""


class RunClient(httpx.AsyncClient):
    """The run's `httpx.AsyncClient`: httpx's own, except that its cookie store keeps nothing
    and reads nothing (`_Discarded`)."""

    _discarded = _Discarded(NoCookies())  # holds nothing, so one serves every client

    @property
    def cookies(self) -> httpx.Cookies:
        """The empty store: no request of a run carries a cookie."""
        return self._discarded

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise AttributeError("The run's HTTP client keeps no cookies.")
