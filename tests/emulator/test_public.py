"""The emulator's public surface and its server's lifecycle."""

from __future__ import annotations

import socket

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
