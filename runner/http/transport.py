"""An httpx transport that spreads requests over several small connection pools.

httpcore's pool re-examines every connection (and, for idle ones, every other connection) each
time a request enters or leaves it, so its cost per request grows with the square of the pool
size: at 64 connections that was most of beta-runner's CPU time. Several pools of a few
connections each keep that cost flat. The run still has one `httpx.AsyncClient`; only its
transport is sharded. Each request goes to the pool with the fewest requests in flight, so
while fewer requests are in flight than the total capacity none waits for a connection.
"""

from __future__ import annotations

import http.cookiejar
import math
from collections.abc import AsyncIterator
from typing import Any

import httpx

SHARD_CONNECTIONS = 8


class ShardedTransport(httpx.AsyncBaseTransport):
    """`connections` connections in pools of at most `SHARD_CONNECTIONS`."""

    def __init__(self, connections: int, *, shard_connections: int = SHARD_CONNECTIONS) -> None:
        shards = max(1, math.ceil(connections / shard_connections))
        size = math.ceil(connections / shards)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        tls = httpx.create_ssl_context()  # loading CA certificates once, not once per pool
        self._shards = [httpx.AsyncHTTPTransport(limits=limits, verify=tls) for _ in range(shards)]
        self._in_flight = [0] * shards

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send on the least busy pool; it counts as busy until the body is closed."""
        index = min(range(len(self._shards)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            self._in_flight[index] -= 1
            raise
        response.stream = _Released(response.stream, self, index)
        return response

    async def aclose(self) -> None:
        """Close every pool."""
        for shard in self._shards:
            await shard.aclose()

    def _release(self, index: int) -> None:
        self._in_flight[index] -= 1


class _Released(httpx.AsyncByteStream):
    """A response body that gives its pool's slot back once, when closed."""

    def __init__(self, stream: object, owner: ShardedTransport, index: int) -> None:
        assert isinstance(stream, httpx.AsyncByteStream)
        self._stream = stream
        self._owner = owner
        self._index = index
        self._open = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._open:
                self._open = False
                self._owner._release(self._index)


class NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing.

    Every request of an experiment must be independent: a cookie set by a gateway in one
    answer and sent back with later requests could make arms differ (sticky routing), so none
    is kept. It also spares parsing every response's headers for Set-Cookie.
    """

    def extract_cookies(self, response: Any, request: Any) -> None:
        """Ignore the response's cookies."""
