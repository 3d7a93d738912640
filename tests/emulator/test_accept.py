"""The emulator accepts every waiting connection when its socket is ready, on asyncio and on
uvloop, within a bound; it pauses when out of file descriptors and stops when closed; and it
keeps idle connections open longer than clients do."""

from __future__ import annotations

import asyncio
import errno
import importlib.util
import socket
from collections.abc import Callable, Coroutine, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import anyio
import httpx
import pytest

from runner.emulator import EmulatorServer, create_app
from runner.emulator.accept import Acceptor
from runner.emulator.server import _settings
from runner.http.transport import KEEPALIVE_S
from tests.emulator.support import FAST, HEADERS, body

AIOHTTP_KEEPALIVE_S = 15.0  # aiohttp's TCPConnector default
LOOPS = [pytest.param("asyncio", id="asyncio")]
if importlib.util.find_spec("uvloop"):
    LOOPS.append(pytest.param("uvloop", id="uvloop"))


def run_on(loop: str, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `main` on a fresh event loop of the named kind."""
    if loop == "uvloop":
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main())


class Made(asyncio.Protocol):
    """Counts the connections made into a shared list and reports when `want` are made."""

    def __init__(self, made: list[Made], done: asyncio.Event, want: int) -> None:
        self.made, self.done, self.want = made, done, want

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made.append(self)
        if len(self.made) >= self.want:
            self.done.set()


@contextmanager
def listening() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    with sock:
        yield sock


def connect(listener: socket.socket, stack: ExitStack, n: int) -> None:
    """`n` clients connected: the kernel completes them while they wait to be accepted."""
    for _ in range(n):
        stack.enter_context(socket.create_connection(listener.getsockname()))


@pytest.mark.parametrize("loop", LOOPS)
def test_one_readiness_accepts_every_waiting_connection(loop: str) -> None:
    """Five connections waiting are all taken in one call, and each reaches its protocol."""

    async def main() -> None:
        made: list[Made] = []
        done = asyncio.Event()
        with listening() as listener, ExitStack() as clients:
            connect(listener, clients, 5)
            acceptor = Acceptor(
                asyncio.get_running_loop(), listener, lambda: Made(made, done, 5), backlog=64
            )
            assert acceptor.accept_waiting() == 5
            with pytest.raises(BlockingIOError):
                listener.accept()
            await done.wait()
            acceptor.close()
            await acceptor.wait_closed()
        assert len(made) == 5

    run_on(loop, main)


@pytest.mark.parametrize("loop", LOOPS)
def test_at_most_backlog_are_taken_at_once_and_the_rest_next_time(loop: str) -> None:
    """With a bound of 2, one call takes 2 of 5; the socket's readiness brings the rest."""

    async def main() -> None:
        made: list[Made] = []
        done = asyncio.Event()
        with listening() as listener, ExitStack() as clients:
            connect(listener, clients, 5)
            acceptor = Acceptor(
                asyncio.get_running_loop(), listener, lambda: Made(made, done, 5), backlog=2
            )
            assert acceptor.accept_waiting() == 2
            await done.wait()
            acceptor.close()
        assert len(made) == 5

    run_on(loop, main)


@pytest.mark.parametrize("loop", LOOPS)
def test_a_closed_acceptor_takes_no_more(loop: str) -> None:
    """After close a waiting connection stays in the queue, untaken."""

    async def main() -> None:
        with listening() as listener, ExitStack() as clients:
            acceptor = Acceptor(asyncio.get_running_loop(), listener, asyncio.Protocol, backlog=8)
            acceptor.close()
            connect(listener, clients, 1)
            assert acceptor.accept_waiting() == 0
            await asyncio.sleep(0)
            conn, _ = listener.accept()  # still there
            conn.close()

    run_on(loop, main)


class Exhausted(socket.socket):
    """A listening socket whose accept fails as when the process has no file descriptors."""

    def accept(self) -> tuple[socket.socket, Any]:
        raise OSError(errno.EMFILE, "Too many open files")


def test_out_of_file_descriptors_pauses_accepting(caplog: pytest.LogCaptureFixture) -> None:
    """EMFILE stops watching the socket (it would report ready forever) and says so."""

    async def main() -> None:
        with Exhausted(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.listen(8)
            loop = asyncio.get_running_loop()
            acceptor = Acceptor(loop, sock, asyncio.Protocol, backlog=8)
            assert acceptor.accept_waiting() == 0
            assert not loop.remove_reader(sock.fileno())  # no longer watched
            acceptor.close()

    run_on("asyncio", main)
    assert "Accepting paused" in caplog.text


@pytest.mark.anyio
async def test_a_burst_of_connections_is_served() -> None:
    """64 connections opened at once against the served emulator all get their answer."""
    statuses: list[int] = []

    async def post(client: httpx.AsyncClient) -> None:
        statuses.append(
            (await client.post("/v1/messages", json=body(), headers=HEADERS)).status_code
        )

    limits = httpx.Limits(max_connections=64)
    with EmulatorServer(FAST) as server:
        async with (
            httpx.AsyncClient(base_url=server.url, limits=limits) as client,
            anyio.create_task_group() as group,
        ):
            for _ in range(64):
                group.start_soon(post, client)
    assert statuses == [200] * 64


def test_an_idle_connection_outlives_the_clients_own_expiry() -> None:
    """The emulator keeps an idle keep-alive connection open longer than httpx, aiohttp (15 s)
    and the run's transport keep one, so a client never reuses one the server is closing."""
    served = _settings(create_app(FAST))
    expiries = (httpx.Limits().keepalive_expiry or 0.0, AIOHTTP_KEEPALIVE_S, KEEPALIVE_S)
    assert all(served.timeout_keep_alive > expiry for expiry in expiries)
