"""A static file server on 127.0.0.1 in a thread, with the byte ranges polars asks for.

Serves a directory as object stores and CDNs do: `GET` with `Range: bytes=a-b` or
`bytes=-n` answers 206 with that slice, so `polars.scan_parquet("http://...")` can read a
run's Parquet files from it; a missing file is 404.
"""

from __future__ import annotations

import functools
import http.server
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopback_support import serve_in_thread

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    def send_head(self) -> Any:
        wanted = _RANGE.match(self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if wanted is None or not path.is_file():
            return super().send_head()
        data = path.read_bytes()
        start, end = _bounds(wanted, len(data))
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        return _Body(data[start : end + 1])

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read outputs, not the access log."""


def _bounds(wanted: re.Match[str], size: int) -> tuple[int, int]:
    first, last = wanted.group(1), wanted.group(2)
    if not first:
        return max(0, size - int(last)), size - 1
    return int(first), min(int(last) if last else size - 1, size - 1)


class _Body:
    """The slice as the file-like object `SimpleHTTPRequestHandler.copyfile` reads."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1) -> bytes:
        data, self._data = self._data, b""
        return data

    def close(self) -> None:
        """Nothing to release."""


@dataclass(frozen=True)
class Served:
    """The server's base URL (no trailing slash)."""

    url: str


@contextmanager
def serve_directory(root: Path) -> Iterator[Served]:
    """Serve `root` until the block ends."""
    with serve_in_thread(functools.partial(_RangeHandler, directory=str(root))) as url:
        yield Served(url)
