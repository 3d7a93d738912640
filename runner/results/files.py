"""Atomic file writes: a whole new file appears under its name, or nothing does.

Each write goes to a temporary name unique to this process and call (`.NAME.PID.RANDOM.tmp`
in the same directory), is flushed to disk, then renamed over the final name; so two
processes writing the same file never share a temporary, and a reader never sees half a
file. `is_temporary` recognises those names, which are never read as data.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import polars as pl

_SUFFIX = ".tmp"


def temporary_for(path: Path) -> Path:
    """A fresh temporary name beside `path`, unique to this process and call."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{_SUFFIX}")


def is_temporary(path: Path) -> bool:
    """Whether `path` is a temporary written by `temporary_for` (a write in progress)."""
    return path.name.startswith(".") and path.name.endswith(_SUFFIX)


def write_bytes(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, durably."""
    temporary = temporary_for(path)
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def write_parquet(path: Path, frame: pl.DataFrame) -> None:
    """Write `frame` as the Parquet file `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_for(path)
    try:
        frame.write_parquet(temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def sink_parquet(path: Path, frame: pl.LazyFrame, row_group_size: int) -> None:
    """Stream `frame` into the Parquet file `path` (memory stays flat)."""
    temporary = temporary_for(path)
    try:
        frame.sink_parquet(temporary, row_group_size=row_group_size)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
