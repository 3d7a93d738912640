"""The journal: appended per finished request, read back whole, a torn last record skipped;
a killed session's journal and damaged parts are folded and set aside on recovery."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from manifest_support import make_run
from test_store import _attempt, _result

from runner.errors import RunStoreError
from runner.results.journal import JOURNAL, Journal, read_journal
from runner.results.store import (
    PARTS,
    RunDirectory,
    read_attempts,
    read_results,
    read_results_and_attempts,
)


def _journal(run: RunDirectory, *keys: str) -> None:
    journal = Journal(run.path)
    for key in keys:
        journal.append(_result(key), [_attempt(key, 1), _attempt(key, 2)])
    journal.close()


def test_journal_rows_read_back_with_the_schemas_and_count_as_durable(run: RunDirectory) -> None:
    """What the journal holds is read by read_results/read_attempts, equal to a part's rows."""
    _journal(run, "a", "b")
    run.append([_result("c")], [_attempt("c")])
    assert sorted(read_results(run.path).collect()["request_key"]) == ["a", "b", "c"]
    assert read_attempts(run.path).collect().height == 5
    journaled = read_journal(run.path).results.filter(request_key="a")
    written = make_run(run.path.parent.parent, "other")
    written.append([_result("a")], [])
    assert journaled.equals(read_results(written.path).collect())


def test_a_torn_last_record_is_skipped_and_recover_warns(run: RunDirectory) -> None:
    """A last line cut short by a kill is not a row; recovery folds the rest into a part,
    removes the journal and says so."""
    _journal(run, "a", "b")
    path = run.path / JOURNAL
    path.write_bytes(path.read_bytes() + b'{"result": ["run-1", "c"')
    assert read_journal(run.path).torn
    assert sorted(read_results(run.path).collect()["request_key"]) == ["a", "b"]
    warnings = RunDirectory.open(run.path).recover()
    assert len(warnings) == 1
    assert "its last record was cut short" in warnings[0]
    assert not path.exists()
    assert sorted(read_results(run.path).collect()["request_key"]) == ["a", "b"]
    assert read_attempts(run.path).collect().height == 4


def test_a_damaged_record_before_the_last_is_an_error_naming_the_line(run: RunDirectory) -> None:
    """Only the last record may be torn: damage earlier names the file and line."""
    _journal(run, "a")
    path = run.path / JOURNAL
    path.write_bytes(b"not json\n" + path.read_bytes())
    with pytest.raises(RunStoreError, match=r"journal.jsonl: line 1 is damaged"):
        read_journal(run.path)


def test_a_truncated_part_is_set_aside_on_recovery_with_a_warning(run: RunDirectory) -> None:
    """A part cut short (what a kill mid-write of a copy leaves) is renamed .damaged and
    named in a warning; the other parts stay readable."""
    run.append([_result("a")], [])
    run.append([_result("b")], [])
    second = sorted((run.path / PARTS).glob("results-*.parquet"))[-1]
    second.write_bytes(second.read_bytes()[:40])
    warnings = RunDirectory.open(run.path).recover()
    assert warnings == [
        f"{second}: not a whole Parquet file (a kill or a failing disk while it was written?); "
        f"set aside as {second.name}.damaged for inspection; its requests are sent again."
    ]
    assert read_results(run.path).collect()["request_key"].to_list() == ["a"]


def test_both_tables_read_together_parse_the_journal_once(
    run: RunDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """read_results_and_attempts gives what the two readers give, reading a killed
    session's journal file once (each reader alone reads it again)."""
    _journal(run, "a", "b")
    run.append([_result("c")], [_attempt("c")])
    reads: list[Path] = []
    real = Path.open

    def recording(path: Path, *args: Any, **kwargs: Any) -> IO[Any]:
        if path.name == JOURNAL:
            reads.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", recording)
    results, attempts = read_results_and_attempts(run.path)
    assert len(reads) == 1
    assert (
        results.collect()
        .sort("request_key")
        .equals(read_results(run.path).collect().sort("request_key"))
    )
    assert attempts.collect().height == read_attempts(run.path).collect().height == 5


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested"),
        pytest.param(b'{"result": "\xff\xfe"}', id="invalid-utf8"),
        pytest.param(b'{"result": \x00}', id="nul-byte"),
    ],
)
def test_a_journal_line_no_parser_can_take_is_named(run: RunDirectory, damage: bytes) -> None:
    """A line nested past the parser's depth, not UTF-8 or holding a NUL, before the last:
    RunStoreError naming the file and line, never a RecursionError traceback."""
    _journal(run, "a")
    path = run.path / JOURNAL
    path.write_bytes(damage + b"\n" + path.read_bytes())
    with pytest.raises(RunStoreError, match=r"journal.jsonl: line 1 is damaged"):
        read_journal(run.path)


def test_a_journal_with_a_line_past_any_record_is_an_error_naming_it(run: RunDirectory) -> None:
    """A 3 GB journal of no lines (a sparse file) is refused after one record's worth of
    reading, naming the file, not read into memory whole."""
    _journal(run, "a")
    path = run.path / JOURNAL
    os.truncate(path, 3 * 1024**3)
    with pytest.raises(RunStoreError, match=r"journal\.jsonl: a line is longer than 64 MiB"):
        read_results(run.path)


def test_a_journal_that_is_a_fifo_is_refused_naming_it_not_waited_on(run: RunDirectory) -> None:
    """A named pipe where the journal should be is an error naming the file, on reading and
    on recovery: opening it would wait for a writer forever, and a resume would block on it."""
    os.mkfifo(run.path / JOURNAL)
    for read in (read_results, lambda path: RunDirectory.open(path).recover()):
        with pytest.raises(RunStoreError, match=r"journal\.jsonl: This is a named pipe \(FIFO\)"):
            read(run.path)


def test_a_journal_of_many_records_reads_every_one(run: RunDirectory) -> None:
    """Records are read a line at a time to the end: every one of many comes back."""
    _journal(run, *(f"k{i}" for i in range(2000)))
    found = read_journal(run.path)
    assert (found.results.height, found.attempts.height, found.torn) == (2000, 4000, False)


def test_a_journal_with_iso_timestamps_reads_as_one_with_numbers(run: RunDirectory) -> None:
    """A journal written before timestamps were numbers (ISO 8601 text) reads the same."""
    _journal(run, "a")
    numbers = read_journal(run.path)
    path = run.path / JOURNAL
    record = json.loads(path.read_bytes())
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for row in [record["result"], *record["attempts"]]:
        for i, value in enumerate(row):
            if isinstance(value, int) and value > 10**15:  # microseconds since 1970
                row[i] = (epoch + timedelta(microseconds=value)).isoformat()
    path.write_text(json.dumps(record) + "\n")

    text = read_journal(run.path)
    assert text.results.equals(numbers.results)
    assert text.attempts.equals(numbers.attempts)
    assert text.results["started_at"].null_count() == 0


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        pytest.param(b"\x00{\n", "not JSON at column 1: expecting value", id="utf16-looking"),
        pytest.param(b"ok \xe9\n", "not UTF-8 text at byte 4", id="latin-1"),
        pytest.param(b"hello\n", "not JSON at column 1: expecting value", id="text"),
        pytest.param(
            b'{"result": [1], "attempts": []}\n',
            "not a journal record: it needs a result row and its attempt rows",
            id="short",
        ),
        pytest.param(
            b"[1, 2]\n",
            "not a journal record: it needs a result row and its attempt rows",
            id="a-list",
        ),
    ],
)
def test_a_garbage_line_gets_a_plain_reason(run: RunDirectory, damage: bytes, reason: str) -> None:
    """Garbage before the last record: the file, the line and a reason in plain words (no
    codec names, no Python exception text)."""
    _journal(run, "a")
    path = run.path / JOURNAL
    path.write_bytes(damage + path.read_bytes())
    with pytest.raises(RunStoreError) as raised:
        read_journal(run.path)
    assert str(raised.value) == f"{path}: line 1 is damaged ({reason})."


def test_a_record_with_a_value_its_column_cannot_hold_names_the_file(run: RunDirectory) -> None:
    """A well-formed record whose values do not fit the table: one line naming the file,
    not an unexpected polars error."""
    _journal(run, "a", "b")
    path = run.path / JOURNAL
    first, rest = path.read_bytes().split(b"\n", 1)
    record = json.loads(first)
    record["result"] = [{"not": "a value"}] * len(record["result"])
    path.write_bytes(json.dumps(record).encode() + b"\n" + rest)
    with pytest.raises(RunStoreError) as raised:
        read_journal(run.path)
    assert str(raised.value).startswith(f"{path}: a record holds a value its table cannot take")
    assert str(raised.value).endswith("(move it aside).")


def _as_version_3(record: dict[str, Any]) -> dict[str, Any]:
    """A record as schema version 3 wrote it: no connect_ms (each row's last value)."""
    return {"result": record["result"][:-1], "attempts": [a[:-1] for a in record["attempts"]]}


def test_a_version_3_journal_reads_with_connect_ms_null(run: RunDirectory) -> None:
    """A journal a schema 3 session left (rows one value shorter) reads as the same rows,
    connect_ms null: never misread as other columns, never 0."""
    _journal(run, "a", "b")
    current = read_journal(run.path)
    path = run.path / JOURNAL
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(_as_version_3(r)) + "\n" for r in lines))
    old = read_journal(run.path)
    for table in ("results", "attempts"):
        read, written = getattr(old, table), getattr(current, table)
        assert read.schema == written.schema
        assert read["connect_ms"].null_count() == read.height
        assert read.drop("connect_ms").equals(written.drop("connect_ms"))


def test_a_journal_mixing_schema_versions_is_refused_naming_the_file(run: RunDirectory) -> None:
    """Records of two schema versions in one journal (no session writes that) are one error
    naming the file, not a frame of misplaced columns."""
    _journal(run, "a", "b")
    path = run.path / JOURNAL
    first, second = path.read_text().splitlines()
    path.write_text(json.dumps(_as_version_3(json.loads(first))) + "\n" + second + "\n")
    with pytest.raises(RunStoreError) as raised:
        read_journal(run.path)
    assert str(raised.value).startswith(f"{path}: a record holds a value its table cannot take")
