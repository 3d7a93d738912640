"""The emulator's public surface and its server's lifecycle."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

import runner.emulator
from runner.emulator import EmulatorServer
from tests.emulator.support import FAST


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted and lists the names other modules use."""
    names = runner.emulator.__all__
    assert names == sorted(names)
    assert set(names) >= {
        "EmulatorConfig",
        "EmulatorServer",
        "create_app",
        "parse_beta_effect",
        "serve",
    }
    assert all(hasattr(runner.emulator, n) for n in names)


def test_server_url_and_clean_shutdown() -> None:
    """The server listens on 127.0.0.1 at .url while open and releases the port on exit."""
    with EmulatorServer(FAST) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{server.url}/nothing").status_code == 404
        port = int(server.url.rsplit(":", 1)[1])
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=1),
    ):
        pass


def test_reset_clears_records(emulator: EmulatorServer) -> None:
    """reset() forgets the recorded requests."""
    httpx.get(f"{emulator.url}/nothing")
    assert emulator.app.received
    emulator.app.reset()
    assert emulator.app.received == []


def test_keep_alive_responses_are_not_delayed(emulator: EmulatorServer) -> None:
    """Responses on a kept-alive connection come back at once (TCP_NODELAY is on)."""
    port = int(emulator.url.rsplit(":", 1)[1])
    request = b"POST /nothing HTTP/1.1\r\nhost: e\r\ncontent-length: 2\r\n\r\n{}"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(3):
            start = time.monotonic()
            sock.sendall(request)
            received = b""
            while b"could not be found" not in received:
                received += sock.recv(65536)
            elapsed = time.monotonic() - start
    assert elapsed < 0.03
