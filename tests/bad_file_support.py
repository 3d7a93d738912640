"""Files no reader may trust: each placed at a path a reader is pointed at, with the phrase
its one-line refusal must hold. A reader that hangs on one fails by the suite's timeout."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

Place = Callable[[Path], None]


def _device(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.mkdir()


def _sparse(path: Path) -> None:
    with path.open("wb") as handle:
        handle.truncate(2 * 1024**3)


def _not_utf8(path: Path) -> None:
    path.write_bytes(b'{"batch_id": "msgbatch_\xff\xfe"}\n')


def _nul(path: Path) -> None:
    path.write_bytes(b'{"batch_id": \x00}\n')


def _deep(path: Path) -> None:
    path.write_text("[" * 100_000 + "]" * 100_000)


BAD_JSON_FILES = [
    pytest.param(_device, "This is a character device", id="dev-zero"),
    pytest.param(_fifo, "This is a named pipe (FIFO)", id="fifo"),
    pytest.param(_directory, "This is a directory", id="directory"),
    pytest.param(_sparse, "The file is larger than", id="sparse-2-GB"),
    pytest.param(_not_utf8, "is not UTF-8 text (byte ff", id="invalid-utf8"),
    pytest.param(_nul, "not valid JSON", id="nul-byte"),
    pytest.param(
        _deep,
        "levels deep, deeper than any file beta-runner reads or writes: the file is damaged",
        id="deeply-nested",
    ),
]


def replace_with(path: Path, place: Place) -> None:
    """Put the bad file `place` makes where `path` is (removing what was there)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    place(path)
