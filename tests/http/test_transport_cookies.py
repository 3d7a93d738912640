"""Requests of a run stay independent: no cookie set by a server is sent back."""

from __future__ import annotations

import anyio
import httpx
import pytest
from anyio.abc import SocketStream
from raw_server import raw_server, read_request

from runner.http.transport import NoCookies
from runner.run.services import http_client


@pytest.mark.anyio
async def test_a_cookie_set_by_the_server_is_not_sent_back() -> None:
    """A Set-Cookie answer leaves the next request without a Cookie header."""
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "route=a; Path=/"}, json={})

    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, cookies=NoCookies()) as client:
        await client.get("http://api.test/v1/messages")
        await client.get("http://api.test/v1/messages")
    assert seen == [None, None]


@pytest.mark.anyio
async def test_no_cookie_reaches_the_server_again() -> None:
    """A Set-Cookie answer: the next request over the real transport carries no Cookie."""
    seen: list[bytes] = []

    async def set_cookie(stream: SocketStream) -> None:
        try:
            while True:
                request = await read_request(stream)
                seen.append(request)
                await stream.send(
                    b"HTTP/1.1 200 OK\r\nset-cookie: route=a; Path=/\r\ncontent-length: 2\r\n\r\n{}"
                )
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass

    async with raw_server(set_cookie) as url, http_client(1, 5.0) as http:
        named = url.replace("127.0.0.1", "localhost")  # aiohttp's own jar skips bare IPs
        await http.get(named + "/v1/messages")
        await http.get(named + "/v1/messages")
    assert len(seen) == 2
    assert all(b"cookie:" not in request.lower() for request in seen)
    assert isinstance(http.cookies.jar, NoCookies)
