"""Run directories, the results contract and the single writer task, on real Parquet files."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import polars as pl
import pytest
from manifest_support import make_run, manifest_for

from runner.errors import RunStoreError
from runner.results.manifest import Counts, RunStatus
from runner.results.schema import (
    ATTEMPTS_SCHEMA,
    RESULTS_SCHEMA,
    STATUS_ERROR,
    STATUS_OK,
    AttemptRow,
    MessageColumns,
    RateLimitColumns,
    ResultRow,
    TurnRow,
)
from runner.results.store import (
    ATTEMPTS,
    MANIFEST,
    PARTS,
    RESULTS,
    TURNS,
    RunDirectory,
    list_runs,
    previous_complete,
    read_attempts,
    read_results,
    read_turns,
    table_counts,
)
from runner.results.writer import DurableTurn, Row, RowWriter

T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def _result(key: str, status: str = STATUS_OK, text: str | None = "hi") -> ResultRow:
    ok = status == STATUS_OK
    return ResultRow(
        run_id="run-1",
        request_key=key,
        case_id="case-0",
        model="model-a",
        arm="control",
        betas=["beta-one"],
        repeat=0,
        status=status,
        error_type=None if ok else "overloaded",
        api_error_type=None if ok else "overloaded_error",
        http_status=200 if ok else 529,
        error_message=None if ok else "Overloaded",
        attempts=1,
        queue_ms=1.5,
        backoff_ms=0.0,
        latency_ms=120.0,
        ttfb_ms=30.0,
        ttft_ms=40.0 if ok else None,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=1),
        message=MessageColumns(
            text=text if ok else None,
            stop_reason="end_turn" if ok else None,
            input_tokens=10 if ok else None,
            output_tokens=5 if ok else None,
            cache_creation_input_tokens=0 if ok else None,
            cache_read_input_tokens=0 if ok else None,
            thinking_tokens=None,
            content_types=["text"] if ok else [],
            content_json="[]" if ok else None,
            usage_json="{}" if ok else None,
            evidence=[],
        ),
        api_request_id="req_1",
    )


def _attempt(key: str, attempt: int = 1) -> AttemptRow:
    return AttemptRow(
        run_id="run-1",
        request_key=key,
        attempt=attempt,
        case_id="case-0",
        model="model-a",
        arm="control",
        status=STATUS_OK,
        error_type=None,
        api_error_type=None,
        http_status=200,
        error_message=None,
        api_request_id="req_1",
        sent_at=T0,
        queue_ms=1.0,
        backoff_before_ms=0.0,
        latency_ms=100.0,
        ttfb_ms=20.0,
        ttft_ms=30.0,
        retry_after_s=None,
        limits=RateLimitColumns(
            rl_requests_limit=50,
            rl_requests_remaining=49,
            rl_requests_reset="2026-05-01T12:00:01Z",
        ),
        sched_concurrency=4,
        sched_in_flight=1,
        sched_rpm=50.0,
        sched_paused_ms=0.0,
    )


def _parts(run: RunDirectory) -> list[str]:
    return sorted(p.name for p in (run.path / PARTS).glob("*"))


def _leftovers(path: Path) -> list[Path]:
    return sorted(path.rglob("*.tmp"))


def test_create_makes_the_run_directory_with_its_manifest(tmp_path: Path) -> None:
    """create() makes <results>/<experiment>/<run id> holding only its manifest, and no
    temporary directory is left beside it."""
    run = make_run(tmp_path / "results", "run-1")

    assert run.path == tmp_path / "results" / "exp" / "run-1"
    assert [p.name for p in run.path.iterdir()] == [MANIFEST]
    assert [p.name for p in run.path.parent.iterdir()] == ["run-1"]
    assert run.read_manifest() == manifest_for("run-1")


def test_create_refuses_an_existing_directory(run: RunDirectory, tmp_path: Path) -> None:
    """A run directory is never reused: creating it twice is a RunStoreError."""
    with pytest.raises(RunStoreError, match="already exists"):
        make_run(tmp_path / "results", "run-1", status=RunStatus.FAILED)

    assert run.read_manifest().status is RunStatus.COMPLETE


def test_create_under_a_file_names_the_file_not_a_temporary(tmp_path: Path) -> None:
    """A results path that is a file: the error names it, no Errno and no staging name."""
    (tmp_path / "results").write_text("not a directory")
    with pytest.raises(RunStoreError) as raised:
        make_run(tmp_path / "results", "r1")
    assert str(raised.value) == (
        f"{tmp_path / 'results'}: this is a file, not a directory; give --results a directory."
    )


def test_open_requires_a_manifest(tmp_path: Path) -> None:
    """open() refuses a directory that has no manifest."""
    with pytest.raises(RunStoreError, match=MANIFEST):
        RunDirectory.open(tmp_path)


def test_manifest_round_trips(run: RunDirectory) -> None:
    """The manifest reads back as written, and a rewrite replaces it whole."""
    finished = manifest_for("run-1").resumed("resume", T0, 3)
    finished = finished.finished(RunStatus.INTERRUPTED, T0, Counts(1, 2, 3, 4, 5), Counts(0, 1))
    run.write_manifest(finished)

    assert run.read_manifest() == finished
    assert _leftovers(run.path) == []


def test_manifest_write_is_atomic(run: RunDirectory) -> None:
    """A manifest write that fails leaves the previous manifest intact and no temporary."""
    before = (run.path / MANIFEST).read_bytes()
    broken = dataclasses.replace(manifest_for("run-1"), scheduler={"m": {"x": object()}})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        run.write_manifest(broken)
    assert (run.path / MANIFEST).read_bytes() == before
    assert _leftovers(run.path) == []


def test_parts_are_numbered_and_atomic(run: RunDirectory) -> None:
    """Each append writes one numbered part per non-empty kind and leaves no temporary file."""
    run.append([_result("a")], [_attempt("a")])
    run.append([], [_attempt("b")])
    run.append([], [])
    run.append([_result("b")], [])

    assert _parts(run) == [
        "attempts-000001.parquet",
        "attempts-000002.parquet",
        "results-000001.parquet",
        "results-000003.parquet",
    ]
    assert _leftovers(run.path) == []


def test_numbering_continues_after_reopening(run: RunDirectory) -> None:
    """A reopened run directory numbers new parts after the existing ones."""
    run.append([_result("a")], [])

    RunDirectory.open(run.path).append([_result("b")], [])

    assert _parts(run) == ["results-000001.parquet", "results-000002.parquet"]


def test_files_match_the_schemas(run: RunDirectory) -> None:
    """Written parts and compacted files have exactly the contract's columns and types."""
    run.append([_result("a")], [_attempt("a")])

    assert pl.read_parquet_schema(run.path / PARTS / "results-000001.parquet") == dict(
        RESULTS_SCHEMA
    )
    assert pl.read_parquet_schema(run.path / PARTS / "attempts-000001.parquet") == dict(
        ATTEMPTS_SCHEMA
    )
    run.compact()
    assert pl.read_parquet_schema(run.path / RESULTS) == dict(RESULTS_SCHEMA)
    assert pl.read_parquet_schema(run.path / ATTEMPTS) == dict(ATTEMPTS_SCHEMA)


def test_rows_round_trip(run: RunDirectory) -> None:
    """A row read back holds the values written, timestamps still UTC-aware."""
    row = _result("a")
    run.append([row], [_attempt("a")])

    read = read_results(run.path).collect().to_dicts()

    parts = {"message": row.message, "conversation": row.conversation}
    written = dataclasses.asdict(row)
    for name, part in parts.items():
        del written[name]
        written.update(dataclasses.asdict(part))
    assert read == [written]
    assert read[0]["started_at"].tzinfo is not None


def test_reading_an_empty_run_gives_empty_frames_with_the_schemas(run: RunDirectory) -> None:
    """A run with no rows reads as empty frames of the right schema."""
    results = read_results(run.path).collect()
    attempts = read_attempts(run.path).collect()

    assert (results.height, results.schema) == (0, RESULTS_SCHEMA)
    assert (attempts.height, attempts.schema) == (0, ATTEMPTS_SCHEMA)


def test_read_results_keeps_the_last_row_of_a_request(run: RunDirectory) -> None:
    """A request written twice (error, then ok on resume) reads back once, as the later row."""
    run.append([_result("a", STATUS_ERROR), _result("b")], [_attempt("a")])
    run.append([_result("a", STATUS_OK, text="second")], [_attempt("a", attempt=2)])

    results = read_results(run.path).collect()

    assert sorted(results["request_key"].to_list()) == ["a", "b"]
    row_a = results.filter(pl.col("request_key") == "a").row(0, named=True)
    assert (row_a["status"], row_a["text"]) == (STATUS_OK, "second")
    assert read_attempts(run.path).collect().height == 2


def test_compact_folds_parts_and_removes_them(run: RunDirectory) -> None:
    """compact() writes the two final tables (deduplicated) and deletes every part."""
    run.append([_result("a", STATUS_ERROR)], [_attempt("a")])
    run.append([_result("a"), _result("b")], [_attempt("a", 2), _attempt("b")])
    before = read_results(run.path).collect().sort("request_key")

    run.compact()

    assert _parts(run) == []
    assert (run.path / RESULTS).is_file()
    assert (run.path / ATTEMPTS).is_file()
    assert pl.read_parquet(run.path / RESULTS).sort("request_key").equals(before)
    assert pl.read_parquet(run.path / ATTEMPTS).height == 3
    assert _leftovers(run.path) == []


def test_parts_written_after_compaction_win(run: RunDirectory) -> None:
    """After compaction, a newer part's row for the same request replaces the compacted one."""
    run.append([_result("a", STATUS_ERROR)], [])
    run.compact()
    run.append([_result("a", text="later")], [])

    results = read_results(run.path).collect()

    assert results.height == 1
    assert results.row(0, named=True)["text"] == "later"


class RecordingObserver:
    """A result observer that keeps the keys it was told about."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def result(self, row: ResultRow) -> None:
        self.keys.append(row.request_key)


@pytest.mark.anyio
async def test_writer_flushes_at_flush_rows_and_on_close(run: RunDirectory) -> None:
    """A batch reaches disk once it holds flush_rows rows, and the remainder when rows end."""
    observer = RecordingObserver()
    writer = RowWriter(run, observer, flush_rows=2, flush_interval_s=3600.0)
    send, receive = anyio.create_memory_object_stream[Row](0)

    async with anyio.create_task_group() as group:
        group.start_soon(writer.consume, receive)
        async with send:
            await send.send(_attempt("a"))
            await send.send(_result("a"))
            await send.send(_result("b", STATUS_ERROR))
            # The writer only takes a third row after it has flushed the first two.
            assert _parts(run) == ["attempts-000001.parquet", "results-000001.parquet"]

    assert _parts(run) == [
        "attempts-000001.parquet",
        "results-000001.parquet",
        "results-000002.parquet",
    ]
    assert read_results(run.path).collect().height == 2
    assert observer.keys == ["a", "b"]
    assert dict(writer.counts) == {"attempts": 1, "requests": 2, "ok": 1, "errors": 1}


@pytest.mark.anyio
async def test_writer_with_fewer_rows_than_a_batch_writes_on_close(run: RunDirectory) -> None:
    """Rows below flush_rows are written as one part when the stream closes."""
    writer = RowWriter(run, flush_rows=100, flush_interval_s=3600.0)
    send, receive = anyio.create_memory_object_stream[Row](10)

    async with anyio.create_task_group() as group:
        group.start_soon(writer.consume, receive)
        async with send:
            for key in "abc":
                await send.send(_result(key))
            await anyio.wait_all_tasks_blocked()
            assert _parts(run) == []

    assert _parts(run) == ["results-000001.parquet"]
    assert sorted(read_results(run.path).collect()["request_key"]) == ["a", "b", "c"]


@pytest.mark.anyio
async def test_writer_flushes_a_batch_once_the_interval_passes(run: RunDirectory) -> None:
    """Rows below flush_rows reach disk after flush_interval_s, the stream still open, and
    each later batch after its own interval."""
    writer = RowWriter(run, flush_rows=100, flush_interval_s=0.05)
    send, receive = anyio.create_memory_object_stream[Row](10)

    async with anyio.create_task_group() as group:
        group.start_soon(writer.consume, receive)
        async with send:
            for written, key in enumerate("ab", start=1):
                await send.send(_result(key))
                with anyio.fail_after(5):
                    while len(_parts(run)) < written:  # noqa: ASYNC110 -- a file a thread writes
                        await anyio.sleep(0.01)

    assert _parts(run) == ["results-000001.parquet", "results-000002.parquet"]
    assert sorted(read_results(run.path).collect()["request_key"]) == ["a", "b"]


@pytest.mark.anyio
async def test_a_cancelled_writer_writes_what_it_received(run: RunDirectory) -> None:
    """Cancelling the writer mid-batch (the stream still open) still puts the rows it has
    taken on disk."""
    writer = RowWriter(run, flush_rows=100, flush_interval_s=3600.0)
    send, receive = anyio.create_memory_object_stream[Row](10)

    async with send, anyio.create_task_group() as group:
        group.start_soon(writer.consume, receive)
        for key in "abc":
            await send.send(_result(key))
        await anyio.wait_all_tasks_blocked()
        assert _parts(run) == []
        group.cancel_scope.cancel()

    assert sorted(read_results(run.path).collect()["request_key"]) == ["a", "b", "c"]


@pytest.mark.anyio
async def test_writer_with_no_rows_writes_nothing(run: RunDirectory) -> None:
    """A stream closed without rows leaves no part behind."""
    writer = RowWriter(run)
    send, receive = anyio.create_memory_object_stream[Row](0)

    async with anyio.create_task_group() as group:
        group.start_soon(writer.consume, receive)
        await send.aclose()

    assert not (run.path / PARTS).exists() or _parts(run) == []
    assert sum(writer.counts.values()) == 0


def test_a_compaction_cut_short_counts_each_attempt_once(run: RunDirectory) -> None:
    """Parts still present beside the compacted files (a kill mid-compaction) are not doubled."""
    run.append([_result("a")], [_attempt("a", 1), _attempt("a", 2)])
    kept = {p.name: p.read_bytes() for p in (run.path / PARTS).glob("*.parquet")}
    run.compact()
    for name, data in kept.items():
        (run.path / PARTS / name).write_bytes(data)
    assert read_attempts(run.path).collect().height == 2
    assert table_counts(run.path) == {"requests": 1, "ok": 1, "errors": 0, "attempts": 2}


def test_list_runs_orders_by_start_and_previous_complete_skips_others(tmp_path: Path) -> None:
    """Runs sort by manifest start time; the previous complete run ignores unfinished ones."""
    statuses = {"r1": "complete", "r2": "interrupted", "r3": "complete", "r4": "running"}
    for index, (run_id, status) in enumerate(statuses.items()):
        started = datetime(2026, 1, 5 - index, tzinfo=UTC)
        make_run(tmp_path, run_id, status=RunStatus(status), started_at=started)
    assert [r.path.name for r in list_runs(tmp_path, "exp")] == ["r4", "r3", "r2", "r1"]
    previous = previous_complete(tmp_path, "exp", tmp_path / "exp" / "r2")
    assert previous is not None
    assert previous.path.name == "r3"
    assert previous_complete(tmp_path, "exp", tmp_path / "exp" / "r3") is None
    assert list_runs(tmp_path, "nothing") == []


def _turn(key: str, turn: int) -> TurnRow:
    return TurnRow(
        run_id="run-1",
        request_key=key,
        turn=turn,
        case_id="case-0",
        model="model-a",
        arm="control",
        status=STATUS_OK,
        error_type=None,
        attempts=1,
        sent_at=T0,
        latency_ms=10.0,
        ttft_ms=5.0,
        input_tokens=100,
        output_tokens=20,
        cache_creation_input_tokens=0,
        cache_read_input_tokens=0,
        stop_reason="tool_use",
        tool_names=["lookup"],
        tool_inputs=['{"q":"x"}'],
        tool_errors=0,
        context_edits=[],
        cleared_input_tokens=None,
        content_json="[]",
        usage_json="{}",
        context_management_json=None,
        next_json=None,
    )


@pytest.mark.anyio
async def test_a_durable_turn_is_on_disk_when_its_sender_resumes(run: RunDirectory) -> None:
    """A turn's sender wakes only after a flush holding it (and the rows before it)."""
    writer = RowWriter(run, flush_rows=100, flush_interval_s=3600.0)
    send, receive = anyio.create_memory_object_stream[Row](10)
    async with anyio.create_task_group() as group:
        group.start_soon(writer.consume, receive)
        async with send:
            await send.send(_attempt("a"))
            durable = DurableTurn(_turn("a", 1))
            await send.send(durable)
            with anyio.fail_after(5):
                await durable.written.wait()
            assert read_turns(run.path).collect()["turn"].to_list() == [1]
            assert read_attempts(run.path).collect().height == 1
    run.compact()
    assert pl.read_parquet(run.path / TURNS).height == 1
    assert writer.counts["turns"] == 1


def test_a_creation_cut_short_leaves_no_run_and_the_run_id_stays_free(tmp_path: Path) -> None:
    """A kill while a run directory is made leaves only a hidden staging directory: it is
    not listed as a run, and the same run id can be created afterwards."""
    staging = tmp_path / "exp" / ".run-1.0a1b2c3d.tmp"
    staging.mkdir(parents=True)
    (staging / MANIFEST).write_text("{}")
    assert list_runs(tmp_path, "exp") == []
    made = make_run(tmp_path, "run-1")
    assert [r.path for r in list_runs(tmp_path, "exp")] == [made.path]
