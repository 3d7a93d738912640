"""Accept every waiting connection each time the emulator's listening socket is ready.

uvicorn serves through `loop.create_server`. On asyncio that accepts up to `backlog`
connections per readiness event; on uvloop, libuv accepts one connection per loop iteration
(libuv 1.45 on: "unix: don't accept() connections in a loop") and relies on level-triggered
polling to hear of the next. While the loop is busy with hundreds of connections' traffic an
iteration takes milliseconds, so a burst of N new connections drains at one per iteration:
measured at concurrency 256, connections waited up to about 1 s in the kernel's accept queue,
time a client records as latency though it is the emulator's.

`Acceptor` takes the place of that server. It watches the listening socket (`add_reader`) and,
each time it is readable, accepts until the queue is empty (`BlockingIOError`) or `backlog`
connections were taken, the bound asyncio's own loop uses so a flood cannot starve the rest of
the loop. Each connection gets TCP_NODELAY (asyncio sets it only on sockets whose proto says
TCP) and is handed to the loop with `loop.connect_accepted_socket`, the public way to serve an
accepted socket on both asyncio and uvloop: a task per connection, as asyncio's own server
makes, held until the connection is made. An aborted connection is skipped; running out of
file descriptors or buffers stops accepting for `RETRY_S` (the kernel keeps the rest queued),
as asyncio does. It has what uvicorn's shutdown uses of a server: `close` (stop accepting; the
socket's owner closes it) and `wait_closed` (the connections being set up are done).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable

RETRY_S = 1.0  # asyncio's own pause after running out of file descriptors
_EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_LOG = logging.getLogger("uvicorn.error")

ProtocolFactory = Callable[[], asyncio.Protocol]


class Acceptor:
    """Serve `sock` (bound, listening, non-blocking) with protocols from `factory`."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        factory: ProtocolFactory,
        *,
        backlog: int,
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._factory = factory
        self._backlog = backlog
        self._opening: set[asyncio.Task[None]] = set()
        self._watching = False
        self._closed = False
        self._watch()

    def accept_waiting(self) -> int:
        """Accept the connections waiting now (at most `backlog`); how many were taken."""
        taken = 0
        while taken < self._backlog and not self._closed:
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                break
            except ConnectionAbortedError:
                continue
            except OSError as exc:
                if exc.errno not in _EXHAUSTED:
                    raise
                self._pause(exc)
                break
            self._open(conn)
            taken += 1
        return taken

    def close(self) -> None:
        """Stop accepting; the connections already accepted are served on."""
        self._closed = True
        self._unwatch()

    async def wait_closed(self) -> None:
        """Return when every accepted connection has been handed to its protocol."""
        if self._opening:
            await asyncio.wait(set(self._opening))

    def _open(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        task = self._loop.create_task(self._connect(conn))
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn)
        except OSError:  # the peer went away before its connection was set up
            conn.close()

    def _pause(self, exc: OSError) -> None:
        _LOG.warning("Accepting paused for %g s: %s", RETRY_S, exc)
        self._unwatch()
        self._loop.call_later(RETRY_S, self._watch)

    def _watch(self) -> None:
        if not self._closed and not self._watching:
            self._loop.add_reader(self._sock.fileno(), self.accept_waiting)
            self._watching = True

    def _unwatch(self) -> None:
        if self._watching:
            self._loop.remove_reader(self._sock.fileno())
            self._watching = False
