"""Requests of a run stay independent: no cookie set by a server is sent back."""

from __future__ import annotations

import httpx
import pytest

from runner.http.transport import NoCookies
from runner.run.session import http_client


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
async def test_the_run_client_keeps_no_cookies() -> None:
    """The client a run uses is built with the jar that keeps nothing."""
    async with http_client(4, 5.0) as client:
        assert isinstance(client.cookies.jar, NoCookies)
