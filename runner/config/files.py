"""Reading an experiment or cases file's bytes and text, failing with a ConfigError.

A missing file, a directory, an unreadable file or bytes that are not UTF-8 become a
`ConfigError` naming the file (and, for bad bytes, the line), never an OSError or a
UnicodeDecodeError.
"""

from __future__ import annotations

from pathlib import Path

from runner.errors import ConfigError


def file_problem(path: Path) -> str | None:
    """A sentence saying why `path` cannot be read as a file, or None if it can be tried."""
    if path.is_dir():
        return "This is a directory, not a file; give the path of a file inside it."
    if not path.exists():
        return "The file does not exist; check the path (and the current directory)."
    return None


def read_bytes(path: Path, blame: ConfigError | None = None) -> bytes:
    """The file's bytes; failures raise `blame` if given, else a ConfigError on `path`."""
    problem = file_problem(path)
    if problem is None:
        try:
            return path.read_bytes()
        except OSError as exc:
            problem = f"The file cannot be read ({exc.strerror or exc}); check its permissions."
    if blame is not None:
        raise ConfigError(blame.path, blame.where, f"{blame.problem} {problem}")
    raise ConfigError(path, "", problem)


def decode_utf8(path: Path, data: bytes) -> str:
    """`data` decoded as UTF-8; bad bytes raise a ConfigError naming the line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.end].hex(" ")
        raise ConfigError(
            path,
            f"line {line}",
            f"The file is not UTF-8 text (byte {bad} at offset {exc.start}); save it as UTF-8.",
        ) from None
