"""The run's journal: every finished request, appended the moment it finishes.

`journal.jsonl` in the run directory gets one line per finished request, written (one
`write` on an `O_APPEND` file) before the request's worker takes the next request: its result
row and its attempt rows, as `{"result": [...], "attempts": [[...], ...]}` with the values in
the schema's column order (timestamps as integer microseconds since the Unix epoch, UTC; a
journal written before holds ISO 8601 text, read as well; a journal of an older schema
version has fewer values per row, read as its version's columns with the later ones null:
`runner.results.versions`). A `kill -9` therefore loses only the
requests in flight (the kernel holds a finished `write` whatever happens to the process); the
Parquet parts, written in batches by the writer, stay the files that are read. The journal
is not `fsync`ed per record (that would cost a disk flush per request): a power loss or OS
crash can lose the records since the last part, which is `fsync`ed (`runner.results.files`),
and a resume sends those requests again. A last line without its newline, or that does not
parse, is a record torn by a kill and is skipped; a damaged line before the last is an error
naming the file and line. The journal is read a line at a time (a 100,000-request run's is
a few hundred MB), and one that is not a regular file (a FIFO would hang the reader, a device
fill memory) or holds a line over `MAX_RECORD_BYTES` is an error naming the file.

`read_journal` turns the lines back into result and attempt frames; the run directory folds
them into a part and removes the journal when a session starts (`RunDirectory.recover`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import polars as pl

from runner.config.files import MIB, file_problem
from runner.errors import RunStoreError
from runner.json_text import encoder
from runner.results.contract import EPOCH, MICROSECOND, table_of
from runner.results.schema import (
    ATTEMPTS_SCHEMA,
    RESULTS_SCHEMA,
    SCHEMA_VERSION,
    AttemptRow,
    ResultRow,
)
from runner.results.versions import columns_at, version_of_width

JOURNAL = "journal.jsonl"
# One request's record: its result and attempts, answer text included (a 128K-token answer is
# well under 2 MiB); a longer line is no record.
MAX_RECORD_BYTES = 64 * MIB


class Journal:
    """The append-only journal of one run directory, open while a session writes."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / JOURNAL
        self._fd: int | None = None

    def append(self, result: ResultRow, attempts: Sequence[AttemptRow]) -> None:
        """Record one finished request (its result and its attempts) in one write."""
        record = {
            "result": _values(_RESULT_VALUES(result), _RESULT_TIMES),
            "attempts": [_values(_ATTEMPT_VALUES(a), _ATTEMPT_TIMES) for a in attempts],
        }
        line = _ENCODE(record) + "\n"
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(self._fd, line.encode())
        except OSError as exc:  # a full disk: the failure names the journal
            raise OSError(exc.errno, exc.strerror, str(self.path)) from exc

    def close(self) -> None:
        """Close the file (it stays until the run directory folds it into a part)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass(frozen=True)
class JournalContents:
    """What a journal holds; `torn` when its last record was cut short."""

    results: pl.DataFrame
    attempts: pl.DataFrame
    torn: bool


def read_journal(run_dir: Path) -> JournalContents:
    """The journal's records as frames with the results and attempts schemas (empty when
    there is no journal); RunStoreError naming the file when it is not a regular file or
    has a line longer than `MAX_RECORD_BYTES`, and naming the line when one before the last
    is damaged. Read a line at a time: a run of many requests has a journal of hundreds of MB."""
    path = run_dir / JOURNAL
    if not path.exists():
        empty = pl.DataFrame(schema=RESULTS_SCHEMA), pl.DataFrame(schema=ATTEMPTS_SCHEMA)
        return JournalContents(*empty, False)
    problem = file_problem(path)
    if problem is not None:
        not_regular = problem.partition(";")[0]  # its advice is for a path the user gave
        raise RunStoreError(f"{path}: {not_regular}; move it aside (a journal is a file).")
    results: list[list[object]] = []
    attempts: list[list[object]] = []
    damage: str | None = None  # the last line read, when it did not parse
    with path.open("rb") as handle:
        for number, line in enumerate(_lines(handle, path), start=1):
            if damage is not None:
                raise RunStoreError(f"{path}: line {number - 1} is damaged ({damage}).")
            damage = _parse(line, results, attempts)
    torn = damage is not None  # the last record, damaged by the kill that cut it
    try:
        frames = _frame(results, RESULTS_SCHEMA), _frame(attempts, ATTEMPTS_SCHEMA)
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise RunStoreError(
            f"{path}: a record holds a value its table cannot take ({first}); this is not a "
            "journal beta-runner wrote (move it aside)."
        ) from None
    return JournalContents(*frames, torn)


def _lines(handle: BinaryIO, path: Path) -> Iterator[bytes]:
    """Each line (a last one without its newline too), refusing one over the record cap."""
    while line := handle.readline(MAX_RECORD_BYTES + 1):
        if len(line) > MAX_RECORD_BYTES:
            raise RunStoreError(
                f"{path}: a line is longer than {MAX_RECORD_BYTES // MIB} MiB, more than any "
                "request's record; this is not a journal beta-runner wrote (move it aside)."
            )
        yield line


def _parse(line: bytes, results: list[list[object]], attempts: list[list[object]]) -> str | None:
    """Add the line's record to `results` and `attempts`; why it is damaged, in plain words,
    if it is (a line without its newline is a record cut short)."""
    if not line.endswith(b"\n"):
        return "cut short"
    try:
        record = json.loads(line.decode())
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text at byte {exc.start + 1}"
    except json.JSONDecodeError as exc:
        return f"not JSON at column {exc.colno}: {exc.msg.lower()}"
    except RecursionError:  # nested past the parser's depth
        return "nested too deeply to be a journal record"
    if not _is_record(record):
        return "not a journal record: it needs a result row and its attempt rows"
    results.append(record["result"])
    attempts.extend(record["attempts"])
    return None


def _is_record(record: object) -> bool:
    """`{"result": [...], "attempts": [[...], ...]}` with a value for every column of one
    readable schema version's tables."""
    if not isinstance(record, dict):
        return False
    result, tried = record.get("result"), record.get("attempts")
    if not isinstance(result, list) or not isinstance(tried, list):
        return False
    version = version_of_width(RESULTS_SCHEMA, len(result))  # a readable version's, or None
    return version is not None and all(
        isinstance(row, list) and version_of_width(ATTEMPTS_SCHEMA, len(row)) == version
        for row in tried
    )


def _frame(rows: list[list[object]], schema: pl.Schema) -> pl.DataFrame:
    """The rows as a frame of `schema`: rows of an older version's width read as its columns,
    the columns added since null; ValueError for rows of different versions."""
    if not rows:
        return pl.DataFrame(schema=schema)
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        raise ValueError("records of different schema versions")
    version = version_of_width(schema, widths.pop())
    written = columns_at(schema, version if version is not None else SCHEMA_VERSION)
    times = _times(written)
    for row in rows:
        for i in times:
            row[i] = _instant(row[i])
    frame = pl.DataFrame(rows, schema=written, orient="row")
    if written == schema:
        return frame
    missing = [pl.lit(None, dtype).alias(n) for n, dtype in schema.items() if n not in written]
    return frame.with_columns(missing).select(schema.names())


def _instant(value: object) -> datetime | None:
    """A journal's timestamp: microseconds since the epoch, or ISO 8601 text (older
    journals, and a timestamp without a time zone); None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return EPOCH + timedelta(microseconds=value)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _times(schema: pl.Schema) -> tuple[int, ...]:
    return tuple(i for i, dtype in enumerate(schema.dtypes()) if isinstance(dtype, pl.Datetime))


_RESULT_TIMES = _times(RESULTS_SCHEMA)
_ATTEMPT_TIMES = _times(ATTEMPTS_SCHEMA)
# Each table's getter of all its values at once, looked up once rather than per row.
_RESULT_VALUES = table_of(ResultRow).values
_ATTEMPT_VALUES = table_of(AttemptRow).values


def _values(values: tuple[object, ...], times: tuple[int, ...]) -> list[object]:
    """A row's values, its timestamps made numbers (cheaper than a `default` hook, and
    than ISO 8601 text: `isoformat` cost more than the rest of a timestamp's encoding)."""
    out = list(values)
    for i in times:
        value = out[i]
        if isinstance(value, datetime):
            try:
                out[i] = (value - EPOCH) // MICROSECOND
            except TypeError:  # no time zone: kept as the text it is
                out[i] = value.isoformat()
    return out


# No `default` hook needed: `_values` has already made every timestamp (the one non-JSON
# type) a number or text; a row's values are scalars and lists of scalars.
_ENCODE = encoder(",", ":")
