"""How long ago the kernel last received data on a TCP connection (Linux's TCP_INFO).

`since_received_s(sock)` reads `tcpi_last_data_recv` of `struct tcp_info` (linux/tcp.h: eight
one-byte fields, then u32s; it is the twelfth u32): the time since the kernel last received
data on the connection, in ms, counted in jiffies (1 to 10 ms each, HZ 1000 to 100). The
kernel stamps the jiffy a segment arrived in and subtracts it from the jiffy now, so a reading
of n jiffies means more than n-1 and less than n+1 passed: within one jiffy of the truth
either way, and unbiased (over the phases at which the segment and the reading fall within
their jiffies, the error averages 0). A caller that needs a bound moves it by `JIFFY_S`, the
coarsest jiffy: less it, a lower bound; plus it, an upper one.

Used by both ends of a connection: the emulator (how long a request's bytes waited before it
read them) and the client's transport (when an answer's last bytes arrived). It reads the
kernel's struct only, and imports nothing.
"""

from __future__ import annotations

import socket
import struct
from typing import Protocol

JIFFY_S = 0.010  # the coarsest jiffy (HZ = 100): the most any reading is off by
_TCP_INFO_SIZE = 104
_LAST_DATA_RECV = struct.Struct("=I")
_LAST_DATA_RECV_AT = 8 + 11 * 4
_OPTION = getattr(socket, "TCP_INFO", None)


class SocketOptions(Protocol):
    """What is read of a connection's socket (a socket, or a transport's stand-in)."""

    def getsockopt(self, level: int, option: int, buflen: int, /) -> bytes:
        """The option's raw value."""
        ...


def since_received_s(sock: SocketOptions | None) -> float | None:
    """Seconds since the kernel last received data on the TCP connection `sock`, as the kernel
    counts them (whole jiffies, unbiased, off by less than one either way); None where unknown:
    not Linux, not TCP, no socket, or one already closed."""
    if sock is None or _OPTION is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _OPTION, _TCP_INFO_SIZE)
    except OSError:
        return None
    if len(info) < _LAST_DATA_RECV_AT + _LAST_DATA_RECV.size:
        return None
    return int(_LAST_DATA_RECV.unpack_from(info, _LAST_DATA_RECV_AT)[0]) / 1000.0
