"""Atomic, durable file writes: a whole new file appears under its name, or nothing does.

Each write goes to a temporary name unique to this process and call (`.NAME.PID.RANDOM.tmp`
in the same directory), whose contents are flushed and `fsync`ed, then renamed over the final
name, and the directory is `fsync`ed so the rename itself is on disk; so two processes
writing the same file never share a temporary, a reader never sees half a file, and once a
write returns its file survives a crash or power loss (a caller may then delete what it
replaces, as compaction deletes parts). `is_temporary` recognises the temporary names, which
are never read as data.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import polars as pl

_SUFFIX = ".tmp"
_NO_DIRECTORY_SYNC = (errno.EINVAL, errno.ENOTSUP)


def temporary_for(path: Path) -> Path:
    """A fresh temporary name beside `path`, unique to this process and call."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{_SUFFIX}")


def is_temporary(path: Path) -> bool:
    """Whether `path` is a temporary written by `temporary_for` (a write in progress)."""
    return path.name.startswith(".") and path.name.endswith(_SUFFIX)


def write_bytes(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, durably."""
    _replace(path, lambda temporary: temporary.write_bytes(data))


def write_parquet(
    path: Path, frame: pl.DataFrame, *, sync_directory: bool = True, compressed: bool = True
) -> None:
    """Write `frame` as the Parquet file `path`, durably (zstd-compressed unless not
    `compressed`); a caller writing several files in one directory may pass
    `sync_directory=False` and sync it once after the last."""
    path.parent.mkdir(parents=True, exist_ok=True)
    compression: Literal["zstd", "uncompressed"] = "zstd" if compressed else "uncompressed"
    _replace(
        path,
        lambda temporary: frame.write_parquet(temporary, compression=compression),
        sync_directory,
    )


def sink_parquet(path: Path, frame: pl.LazyFrame, row_group_size: int) -> None:
    """Stream `frame` into the Parquet file `path` (memory stays flat), durably."""
    _replace(path, lambda temporary: frame.sink_parquet(temporary, row_group_size=row_group_size))


def sync_directory(directory: Path) -> None:
    """Put `directory`'s entries (a file renamed or made in it) on disk. A file system that
    cannot sync a directory (some network and FUSE ones refuse with EINVAL) is left to
    order its renames itself: the files' own data is synced regardless."""
    try:
        _fsync(directory, getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        if exc.errno not in _NO_DIRECTORY_SYNC:
            raise


def _replace(path: Path, write: Callable[[Path], object], sync: bool = True) -> None:
    """`write` to a temporary beside `path`, fsync it, rename it over `path`, fsync the
    directory (unless the caller will); the temporary is removed if anything fails."""
    temporary = temporary_for(path)
    try:
        write(temporary)
        _fsync(temporary)
        temporary.replace(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise naming(path, exc) from exc
    finally:
        temporary.unlink(missing_ok=True)
    if sync:
        sync_directory(path.parent)


def naming(path: Path, exc: OSError | pl.exceptions.PolarsError) -> OSError:
    """`exc`, from writing `path`, as an OSError whose `filename` is `path` (not the
    temporary it was written to): what the run's failure message names. A polars error
    keeps its first line as the reason; it carries no errno."""
    if isinstance(exc, OSError):
        return OSError(exc.errno, exc.strerror or str(exc), str(path))
    return OSError(None, (str(exc).splitlines() or [type(exc).__name__])[0], str(path))


def _fsync(path: Path, flags: int = 0) -> None:
    descriptor = os.open(path, os.O_RDONLY | flags)
    try:
        os.fsync(descriptor)
    except OSError as exc:
        raise naming(path, exc) from exc
    finally:
        os.close(descriptor)
