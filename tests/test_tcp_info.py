"""The kernel's time since a TCP connection last received data, read from TCP_INFO: within a
jiffy of the truth on a real connection, unknown where there is no TCP connection to ask."""

from __future__ import annotations

import socket
import time

import anyio
import pytest

from runner.tcp_info import JIFFY_S, since_received_s

pytestmark = pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux's")


@pytest.mark.anyio
async def test_bytes_received_50_ms_ago_read_as_50_ms_to_within_a_jiffy() -> None:
    """Read 50 ms after the bytes were seen: more than 50 ms less a jiffy, less than the time
    since they were written plus one."""
    with (
        socket.create_server(("127.0.0.1", 0)) as listener,
        socket.create_connection(listener.getsockname()) as client,
    ):
        written = time.monotonic()
        client.sendall(b"ping")
        conn, _ = listener.accept()
        with conn:
            conn.recv(64, socket.MSG_PEEK)
            await anyio.sleep(0.05)
            since = since_received_s(conn)
            assert since is not None
            assert 0.05 - JIFFY_S < since < time.monotonic() - written + JIFFY_S


def test_a_socket_that_is_not_tcp_is_unknown() -> None:
    """A Unix socket has no TCP_INFO: None, not an error."""
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        right.sendall(b"ping")
        assert since_received_s(left) is None


def test_a_closed_socket_or_none_is_unknown() -> None:
    """A connection already closed, or no socket at all: None."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        client.close()
        assert since_received_s(client) is None
    assert since_received_s(None) is None
