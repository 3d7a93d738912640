"""Reading an experiment, cases or price file defensively, failing with a ConfigError.

Only a regular file is read: a directory, FIFO, device or socket is refused by name before it
is opened (so `/dev/zero` cannot fill memory and a FIFO cannot hang the run), a symlink loop is
called one, and a file over `limit` bytes is refused with its size. Text is UTF-8 with or
without a byte-order mark. Nesting is checked before parsing, since `tomllib` and `json`
recurse: more than `MAX_DEPTH` levels of arrays and tables is refused at its line, never a
RecursionError. JSON Lines are split on "\\n" only (a "\\r" before it is dropped), so a raw
U+2028 or U+0085 inside a JSON string stays part of its line. Every failure names the file
and, where it can, the line.
"""

from __future__ import annotations

import codecs
import errno
import re
import stat
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path

from runner.errors import ConfigError

MIB = 1024 * 1024
MAX_TOML_BYTES = 16 * MIB
MAX_JSONL_BYTES = 512 * MIB
MAX_DEPTH = 64

_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
# Strings are matched as runs of ordinary characters between escapes ("unrolled"), never one
# character per alternation: that took ~30 s over a 20 MB string; these take well under 1 s.
_TOML_TOKENS = re.compile(
    r'"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'
    r"|'''[^']*(?:'(?!'')[^']*)*'''"
    r'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
    r"|'[^'\n]*'|#[^\n]*|[\[\]{}]",
    re.DOTALL,
)
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def file_problem(path: Path, limit: int | None = None) -> str | None:
    """A sentence saying why `path` cannot be read as a file (or, with `limit`, why it is too
    large to: its recorded size is over `limit`, found before reading any of it, so a sparse
    2 GB file costs nothing), or None if it can be tried."""
    try:
        info = path.stat()
    except OSError as exc:
        return _stat_problem(path, exc)
    if stat.S_ISDIR(info.st_mode):
        return "This is a directory, not a file; give the path of a file inside it."
    for test, kind in _KINDS:
        if test(info.st_mode):
            return f"This is {kind}, not a regular file; give the path of a regular file."
    if limit is not None and info.st_size > limit:
        return _too_large(limit)
    return None


def _stat_problem(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "The path is a symlink loop (a link that leads back to itself); fix the link."
    if exc.errno == errno.ENOENT and path.is_symlink():
        return f"The path is a symlink to {path.readlink()}, which does not exist."
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "The file does not exist; check the path (and the current directory)."
    return f"The file cannot be read ({exc.strerror or exc}); check its permissions."


def read_bytes(path: Path, blame: ConfigError | None = None, limit: int = MAX_TOML_BYTES) -> bytes:
    """The file's bytes (at most `limit`); failures raise `blame` if given, else a ConfigError
    on `path`."""
    problem = file_problem(path, limit)
    if problem is None:
        try:
            with path.open("rb") as handle:
                data = handle.read(limit + 1)
        except OSError as exc:
            problem = f"The file cannot be read ({exc.strerror or exc}); check its permissions."
        else:
            if len(data) <= limit:
                return data
            problem = _too_large(limit)
    if blame is not None:
        raise ConfigError(blame.path, blame.where, f"{blame.problem} {path}: {problem}")
    raise ConfigError(path, "", problem)


def _too_large(limit: int) -> str:
    return (
        f"The file is larger than {limit // MIB} MiB, the most beta-runner reads here; "
        "check that this is the right file, or split it."
    )


def decode_utf8(path: Path, data: bytes) -> str:
    """`data` decoded as UTF-8 (a leading byte-order mark dropped); bad bytes raise a
    ConfigError naming the line."""
    data = data.removeprefix(codecs.BOM_UTF8)
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


def read_toml(path: Path, what: str = "file") -> dict[str, object]:
    """The TOML document at `path`, read defensively; `what` names it in messages."""
    text = decode_utf8(path, read_bytes(path))
    check_nesting(path, text, _TOML_TOKENS)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _TOML_POSITION.search(message)
        where = f"line {position[1]}, column {position[2]}" if position else ""
        reason = _TOML_POSITION.sub("", message).strip()
        raise ConfigError(path, where, f"The {what} is not valid TOML: {reason}.") from None
    if too_deep(document):
        raise ConfigError(path, "", _deep_problem("dotted keys or [table.headers]"))
    return document


def json_text(
    path: Path,
    blame: ConfigError | None = None,
    limit: int = MAX_TOML_BYTES,
    depth: int = MAX_DEPTH,
) -> str:
    """The text of a JSON file, checked for nesting (at most `depth`) before a recursive
    parser sees it; failures to read the file raise `blame` if given (else a ConfigError),
    naming the file."""
    text = decode_utf8(path, read_bytes(path, blame, limit))
    check_nesting(path, text, _JSON_TOKENS, depth=depth, what=_JSON_NESTS)
    return text


def json_lines(path: Path, blame: ConfigError) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a JSON Lines file with their 1-based numbers, each checked for
    nesting; failures to read the file raise `blame`, naming the file."""
    text = decode_utf8(path, read_bytes(path, blame, MAX_JSONL_BYTES))
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip():
            check_nesting(path, line, _JSON_TOKENS, number, what=_JSON_NESTS)
            yield number, line


def check_nesting(
    path: Path,
    text: str,
    tokens: re.Pattern[str],
    line: int | None = None,
    depth: int = MAX_DEPTH,
    what: str = "arrays and tables",
) -> None:
    """ConfigError at the line where `what` (TOML's arrays and tables, by default) nest more
    than `depth` deep (strings and comments skipped), before a recursive parser sees the
    text."""
    level = 0
    for token in tokens.finditer(text):
        mark = token.group()
        if mark in "[{":
            level += 1
            if level > depth:
                at = line if line is not None else text.count("\n", 0, token.start()) + 1
                raise ConfigError(path, f"line {at}", _deep_problem(what, depth))
        elif mark in "]}":
            level = max(0, level - 1)


def too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` (parsed JSON or TOML) nests deeper than `limit`, checked without
    recursion."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, Mapping):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


_JSON_NESTS = "arrays and objects"


def _deep_problem(what: str, depth: int = MAX_DEPTH) -> str:
    return (
        f"The {what} nest more than {depth} levels deep, deeper than any file beta-runner "
        "reads or writes: the file is damaged or is not the one meant (look for a runaway "
        "bracket or key)."
    )
