"""Run the emulator under uvicorn: `EmulatorServer` in a background thread, `serve` blocking.

`EmulatorServer` binds 127.0.0.1 on a free port (port 0, so no race), starts uvicorn in a
thread with its signal handlers left alone (httpx's own test-server pattern), waits until it
serves, and stops it on exit. Logging stays quiet: no access log, warnings only, and the
deliberate connection drops are not reported as application errors. Both run uvicorn on
uvloop and httptools when installed (`pip install 'beta-runner[fast]'`), else on asyncio and
h11 (`server_stack`), with the ASGI lifespan on so the app's loop-lag ticker runs.
Connections are accepted by the emulator's own `accept.Acceptor` (every waiting connection
each time the socket is ready), not by the loop's server, which under uvloop takes one per
loop iteration and leaves a burst of new connections waiting in the kernel's queue.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn

from runner.emulator.accept import Acceptor
from runner.emulator.app import EmulatorApp, create_app
from runner.emulator.config import EmulatorConfig
from runner.emulator.latency import LOOP_TIMER
from runner.emulator.lateness import ARRIVED, queued_s
from runner.emulator.ratelimit import Clock
from runner.emulator.wire import ConnectionDropped

STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 5.0
# How long an idle keep-alive connection stays open. uvicorn's default, 5 s, is the same as the
# clients' own expiry (httpx's, the run transport's), and the server's count starts first: a
# client reusing a connection just under 5 s idle wrote into one the server was closing, and
# got a reset (httpx.ReadError). Longer than any common client's expiry (aiohttp's is 15 s),
# so the client always retires an idle connection first, as against a real API front end.
KEEP_ALIVE_S = 75


class _DropFilter(logging.Filter):
    """Hide uvicorn's report of a connection the emulator dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, ConnectionDropped)


_DROP_FILTER = _DropFilter()


def _hide_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if _DROP_FILTER not in logger.filters:
        logger.addFilter(_DROP_FILTER)


def server_stack() -> tuple[str, str]:
    """The event loop and the HTTP parser the emulator is served on: ("uvloop", "httptools")
    where installed, else ("asyncio", "h11")."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return loop, http


def _stamping(http: str) -> str | type[asyncio.Protocol]:
    """The HTTP protocol to serve with: for httptools, one that stamps when each request
    arrived (`lateness.ARRIVED`): when it began parsing it, less how long its bytes had waited
    in the kernel (`lateness.queued_s`), so the latency model counts from the request's
    arrival, not from when a busy loop got round to reading it or to its handler."""
    if http != "httptools":
        return http
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Stamped(HttpToolsProtocol):
        def on_message_begin(self) -> None:
            super().on_message_begin()
            waited = queued_s(self.transport.get_extra_info("socket"))
            self.scope["state"][ARRIVED] = LOOP_TIMER.now() - waited

    return Stamped


def _settings(app: EmulatorApp, graceful_s: int | None = None) -> uvicorn.Config:
    loop, http = server_stack()
    app.served_with(http)
    return uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=KEEP_ALIVE_S,
        loop=loop,
        http=_stamping(http),
        timeout_graceful_shutdown=graceful_s,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, with its listening sockets served by an `Acceptor` each."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Listen, run uvicorn's startup (the lifespan) with no server of its own, then
        accept; a connection made before the accepting starts waits in the queue."""
        for sock in sockets or ():
            sock.listen(self.config.backlog)
            sock.setblocking(False)
        await super().startup(sockets=[])
        loop = asyncio.get_running_loop()
        backlog = self.config.backlog
        for sock in sockets or ():
            # uvicorn's shutdown uses only a server's close() and wait_closed(), which it has.
            acceptor = Acceptor(loop, sock, self._protocol, backlog=backlog)
            self.servers.append(acceptor)  # type: ignore[arg-type]

    def _protocol(self) -> asyncio.Protocol:
        return self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )


class _ThreadServer(_Server):
    def install_signal_handlers(self) -> None:
        """Signals belong to the main thread's owner, not to a test server."""


class EmulatorServer:
    """The emulator on 127.0.0.1 in a background thread; use as a context manager.

    `clock` (monotonic seconds) is the app's; tests pass one they move by hand.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        port: int = 0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.app: EmulatorApp = create_app(config or EmulatorConfig(), clock)
        # proto must say TCP: asyncio only sets TCP_NODELAY on sockets that do, and without it
        # Nagle plus delayed ACKs add ~40 ms to every keep-alive response.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        settings = _settings(self.app, int(SHUTDOWN_TIMEOUT_S))
        self._server = _ThreadServer(settings)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> EmulatorServer:
        _hide_drops()
        self._thread.start()
        waiter = threading.Event()
        for _ in range(int(STARTUP_TIMEOUT_S / 0.005)):
            if self._server.started or not self._thread.is_alive():
                break
            waiter.wait(0.005)
        if not self._server.started:
            self._stop()
            raise RuntimeError(f"The emulator did not start on {self.url}.")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(SHUTDOWN_TIMEOUT_S + 1.0)
        self._socket.close()


def listen(host: str = "127.0.0.1", port: int = 8765) -> socket.socket:
    """A socket bound to host:port and listening; OSError (e.g. a busy port or an unknown
    host) before anything is served."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def serve(config: EmulatorConfig, sock: socket.socket) -> None:
    """Serve the emulator on `sock` (from `listen`) until interrupted (Ctrl+C stops it).

    What exists before serving (the imported modules, about 80,000 objects) is moved out of
    the garbage collector's reach (`gc.freeze`): a full collection walked all of it, stalling
    every reply in flight by 15-45 ms a few times per thousand requests."""
    _hide_drops()
    server = _Server(_settings(create_app(config)))
    gc.freeze()
    server.run(sockets=[sock])
