"""The run's journal: every finished request, appended the moment it finishes.

`journal.jsonl` in the run directory gets one line per finished request, written (one
`write` on an `O_APPEND` file) before the request's worker takes the next request: its result
row and its attempt rows, as `{"result": [...], "attempts": [[...], ...]}` with the values in
the schema's column order (timestamps as ISO 8601). A `kill -9` therefore loses only the
requests in flight (the kernel holds a finished `write` whatever happens to the process); the
Parquet parts, written in batches by the writer, stay the files that are read. The journal
is not `fsync`ed per record (that would cost a disk flush per request): a power loss or OS
crash can lose the records since the last part, which is `fsync`ed (`runner.results.files`),
and a resume sends those requests again. A last line without its newline, or that does not
parse, is a record torn by a kill and is skipped; a damaged line before the last is an error
naming the file and line.

`read_journal` turns the lines back into result and attempt frames; the run directory folds
them into a part and removes the journal when a session starts (`RunDirectory.recover`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from runner.errors import RunStoreError
from runner.results.schema import ATTEMPTS_SCHEMA, RESULTS_SCHEMA, AttemptRow, ResultRow, row_values

JOURNAL = "journal.jsonl"


class Journal:
    """The append-only journal of one run directory, open while a session writes."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / JOURNAL
        self._fd: int | None = None

    def append(self, result: ResultRow, attempts: Sequence[AttemptRow]) -> None:
        """Record one finished request (its result and its attempts) in one write."""
        record = {
            "result": _values(result, _RESULT_TIMES),
            "attempts": [_values(a, _ATTEMPT_TIMES) for a in attempts],
        }
        line = _ENCODE(record) + "\n"
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(self._fd, line.encode())

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
    there is no journal); RunStoreError naming the line when one before the last is damaged."""
    path = run_dir / JOURNAL
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    lines = data.split(b"\n")
    complete, tail = lines[:-1], lines[-1]
    results: list[list[object]] = []
    attempts: list[list[object]] = []
    torn = bool(tail)
    for number, line in enumerate(complete, start=1):
        try:
            record = json.loads(line)
            results.append(record["result"])
            attempts.extend(record["attempts"])
        # A line nested past the parser's depth (RecursionError) is damage too.
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            if number == len(complete) and not tail:
                torn = True  # the last record, damaged by the kill that cut it
                break
            raise RunStoreError(f"{path}: line {number} is damaged ({exc}).") from None
    return JournalContents(_frame(results, RESULTS_SCHEMA), _frame(attempts, ATTEMPTS_SCHEMA), torn)


def _frame(rows: list[list[object]], schema: pl.Schema) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame(schema=schema)
    times = [i for i, dtype in enumerate(schema.dtypes()) if isinstance(dtype, pl.Datetime)]
    for row in rows:
        for i in times:
            value = row[i]
            row[i] = datetime.fromisoformat(value) if isinstance(value, str) else None
    return pl.DataFrame(rows, schema=schema, orient="row")


def _times(schema: pl.Schema) -> tuple[int, ...]:
    return tuple(i for i, dtype in enumerate(schema.dtypes()) if isinstance(dtype, pl.Datetime))


_RESULT_TIMES = _times(RESULTS_SCHEMA)
_ATTEMPT_TIMES = _times(ATTEMPTS_SCHEMA)


def _values(row: ResultRow | AttemptRow, times: tuple[int, ...]) -> list[object]:
    """The row's values, its timestamps already ISO 8601 (cheaper than a `default` hook)."""
    values = row_values(row)
    for i in times:
        value = values[i]
        if isinstance(value, datetime):
            values[i] = value.isoformat()
    return values


def _encode(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_ENCODE = json.JSONEncoder(separators=(",", ":"), default=_encode).encode
