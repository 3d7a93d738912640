"""Run directories on disk: created once, written in atomic parts, compacted, read back.

Layout of `<results>/<experiment>/<run id>/`: `manifest.json`; while running, numbered
`parts/results-NNNNNN.parquet` and `parts/attempts-NNNNNN.parquet`; at the end
`results.parquet` and `attempts.parquet`; likewise `scores.parquet` (one row per request and
scorer) and `judge_requests.parquet` (the judges' own requests) when the experiment scores, and
`turns.parquet` (one row per turn of a conversation case) when it has conversations.
Every file is written to a temporary name and renamed, so a reader never sees half a file. A
run directory is never overwritten. A run split with `--shard K/N` keeps each shard in
`<run id>/shard-K-of-N/`, laid out like a run; reading a run reads every shard below it.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from pathlib import Path

import polars as pl

from runner.config.files import file_problem
from runner.errors import RunStoreError
from runner.results import files
from runner.results.damaged import SET_ASIDE, damaged_parts, part_number, set_aside
from runner.results.journal import JOURNAL, JournalContents, read_journal
from runner.results.manifest import MANIFEST as MANIFEST
from runner.results.manifest import Manifest, RunStatus, read_manifest, write_manifest
from runner.results.schema import (
    ATTEMPTS_SCHEMA,
    JUDGE_REQUESTS_SCHEMA,
    RESULTS_SCHEMA,
    SCORES_SCHEMA,
    STATUS_OK,
    TURNS_SCHEMA,
    A,
    AttemptRow,
    J,
    JudgeRequestRow,
    R,
    ResultRow,
    S,
    ScoreRow,
    T,
    TurnRow,
    rows_to_frame,
)

RESULTS = "results.parquet"
ATTEMPTS = "attempts.parquet"
SCORES = "scores.parquet"
JUDGE_REQUESTS = "judge_requests.parquet"
TURNS = "turns.parquet"
PARTS = "parts"
SHARD_PREFIX = "shard-"
_ROW = "__row"
_ROW_GROUP = 5_000


class RunDirectory:
    """One run's directory; writes are atomic and append-only until `compact()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._next_part = _next_part_number(path / PARTS)

    @classmethod
    def create(
        cls,
        results_dir: Path,
        experiment: str,
        run_id: str,
        manifest: Manifest,
        shard: str | None = None,
    ) -> RunDirectory:
        """Make a new run directory (or shard directory inside a run's directory) holding
        `manifest`; refuse to reuse an existing one.

        The directory is made under a temporary name with its manifest inside, then renamed:
        a kill at any moment leaves either no run directory or one that can be resumed.
        """
        path = results_dir / experiment / run_id
        if shard is not None:
            path = path / shard
        if path.exists():
            raise _exists(path)
        staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            staging.mkdir(parents=True)
            write_manifest(staging, manifest)
            if path.exists():  # another process created it meanwhile
                raise _exists(path)
            staging.rename(path)
            files.sync_directory(path.parent)
        except OSError as exc:
            raise RunStoreError(_cannot_create(path, exc)) from None
        finally:
            _remove_staging(staging)
        return cls(path)

    @classmethod
    def open(cls, path: Path) -> RunDirectory:
        """An existing run directory (one that has a manifest that is a regular file)."""
        manifest = path / MANIFEST
        if not manifest.exists() and not manifest.is_symlink():
            raise RunStoreError(f"{path} is not a run directory: it has no {MANIFEST}.")
        problem = file_problem(manifest)
        if problem is not None:
            raise RunStoreError(f"{manifest}: {problem}")
        return cls(path)

    def write_manifest(self, manifest: Manifest) -> None:
        """Replace the manifest atomically."""
        write_manifest(self.path, manifest)

    def read_manifest(self) -> Manifest:
        """The manifest, checked; RunStoreError `<file>: <what is wrong>` when it is damaged."""
        return read_manifest(self.path)

    def append(
        self,
        results: Sequence[ResultRow],
        attempts: Sequence[AttemptRow],
        scores: Sequence[ScoreRow] = (),
        judges: Sequence[JudgeRequestRow] = (),
        turns: Sequence[TurnRow] = (),
    ) -> None:
        """Write one numbered part for each non-empty batch of rows (turns before results, so
        a request's final row never precedes the turns it summarises)."""
        batches: tuple[tuple[str, Sequence[object], pl.Schema], ...] = (
            ("attempts", attempts, ATTEMPTS_SCHEMA),
            ("judge_requests", judges, JUDGE_REQUESTS_SCHEMA),
            ("turns", turns, TURNS_SCHEMA),
            ("scores", scores, SCORES_SCHEMA),
            ("results", results, RESULTS_SCHEMA),
        )
        self._write_frames(
            [(kind, rows_to_frame(list(rows), schema)) for kind, rows, schema in batches if rows]
        )

    def replace_scores(self, scorers: Sequence[str], scores: Sequence[ScoreRow]) -> None:
        """Rewrite `scores.parquet`: `scorers`' rows replaced by `scores`, others' kept."""
        kept = read_scores(self.path).filter(~pl.col(S.scorer).is_in(list(scorers)))
        self._replace(SCORES, kept.collect(), rows_to_frame(list(scores), SCORES_SCHEMA))

    def replace_judge_requests(
        self, scorers: Sequence[str], rows: Sequence[JudgeRequestRow]
    ) -> None:
        """Rewrite `judge_requests.parquet`: `scorers`' requests replaced by `rows`."""
        kept = read_judge_requests(self.path).filter(~pl.col(J.arm).is_in(list(scorers)))
        fresh = rows_to_frame(list(rows), JUDGE_REQUESTS_SCHEMA)
        self._replace(JUDGE_REQUESTS, kept.collect(), fresh)

    def _replace(self, name: str, kept: pl.DataFrame, fresh: pl.DataFrame) -> None:
        """The table `name` as `kept` + `fresh`, its parts folded in (and removed)."""
        files.write_parquet(self.path / name, pl.concat([kept, fresh]))
        kind = name.removesuffix(".parquet")
        for part in sorted((self.path / PARTS).glob(f"{kind}-*.parquet")):
            part.unlink()

    def compact(self) -> None:
        """Fold every part (and any earlier compacted file) into the final two tables.

        Streamed from the files to the new file, so memory stays flat however large the run.
        """
        files.sink_parquet(self.path / RESULTS, read_results(self.path), _ROW_GROUP)
        files.sink_parquet(self.path / ATTEMPTS, read_attempts(self.path), _ROW_GROUP)
        tables = (
            (SCORES, read_scores),
            (JUDGE_REQUESTS, read_judge_requests),
            (TURNS, read_turns),
        )
        for name, read in tables:
            if _files(self.path, name, name.removesuffix(".parquet")):
                files.sink_parquet(self.path / name, read(self.path), _ROW_GROUP)
        for part in sorted((self.path / PARTS).glob("*.parquet")):
            part.unlink()

    def recover(self) -> list[str]:
        """Make a run left by a killed session whole before a new session writes to it: set
        damaged parts aside (`*.parquet.damaged`) and fold the journal into a part, then
        remove it. Returns a warning per damaged part and for a torn journal record."""
        warnings = [set_aside(part) for part in damaged_parts(self.path / PARTS)]
        if (self.path / JOURNAL).exists():  # not only a regular file: read_journal refuses it
            found = read_journal(self.path)
            if found.torn:
                warnings.append(
                    f"{self.path / JOURNAL}: its last record was cut short (a kill while it "
                    "was written); that request is sent again."
                )
            self._write_frames([("attempts", found.attempts), ("results", found.results)])
            self.retire_journal()
        return warnings

    def retire_journal(self) -> None:
        """Remove the journal: everything in it is in the parts."""
        (self.path / JOURNAL).unlink(missing_ok=True)

    def _write_frames(self, frames: Sequence[tuple[str, pl.DataFrame]]) -> None:
        """One part numbered `_next_part` per non-empty (kind, frame), in order; the parts
        directory synced once for all of them."""
        written = [(kind, frame) for kind, frame in frames if frame.height]
        for kind, frame in written:
            self._write_part(kind, self._next_part, frame)
        if written:
            files.sync_directory(self.path / PARTS)  # once for every part just renamed in
            self._next_part += 1

    def _write_part(self, kind: str, number: int, frame: pl.DataFrame) -> None:
        """One part, its data on disk; the caller syncs the parts directory after the last."""
        path = self.path / PARTS / f"{kind}-{number:06d}.parquet"
        # Uncompressed: zstd cost more than building the frame, and compaction, which folds
        # the parts into the run's tables, compresses those.
        files.write_parquet(path, frame, sync_directory=False, compressed=False)


def read_results(run_dir: str | Path) -> pl.LazyFrame:
    """One row per request: compacted rows, parts and the journal of a session that was
    killed, the latest row of a request winning."""
    return _results(Path(run_dir), _journals(Path(run_dir)))


def read_attempts(run_dir: str | Path) -> pl.LazyFrame:
    """Every attempt ever made in the run (once each, even after a compaction was cut short
    or when a killed session's journal repeats what its parts hold)."""
    return _attempts(Path(run_dir), _journals(Path(run_dir)))


def read_results_and_attempts(
    run_dir: str | Path, skip: Collection[Path] = ()
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """`read_results` and `read_attempts` together, a killed session's journal parsed once
    for both (it holds the rows of both tables); parts in `skip` (damaged ones) left out."""
    path = Path(run_dir)
    journals = _journals(path)
    return _results(path, journals, skip), _attempts(path, journals, skip)


def _results(
    run_dir: Path, journals: Sequence[JournalContents], skip: Collection[Path] = ()
) -> pl.LazyFrame:
    files = _files(run_dir, RESULTS, "results", skip)
    journaled = _concat([j.results for j in journals])
    return latest_rows(files, RESULTS_SCHEMA, [R.request_key], journaled)


def _attempts(
    run_dir: Path, journals: Sequence[JournalContents], skip: Collection[Path] = ()
) -> pl.LazyFrame:
    files = _files(run_dir, ATTEMPTS, "attempts", skip)
    journaled = _concat([j.attempts for j in journals])
    return latest_rows(files, ATTEMPTS_SCHEMA, [A.request_key, A.attempt, A.sent_at], journaled)


def read_scores(run_dir: str | Path) -> pl.LazyFrame:
    """One row per (request, scorer): the latest score written wins (empty when unscored)."""
    files = _files(Path(run_dir), SCORES, "scores")
    return latest_rows(files, SCORES_SCHEMA, [S.request_key, S.scorer])


def read_judge_requests(run_dir: str | Path) -> pl.LazyFrame:
    """One row per judge request (empty when the experiment has no judge)."""
    files = _files(Path(run_dir), JUDGE_REQUESTS, "judge_requests")
    return latest_rows(files, JUDGE_REQUESTS_SCHEMA, [J.request_key])


def read_turns(run_dir: str | Path, skip: Collection[Path] = ()) -> pl.LazyFrame:
    """One row per (request, turn) of the run's conversation cases, the latest winning (a
    turn sent again by --retry-errors replaces the failed one); empty for a run without.
    Parts in `skip` (damaged ones) are left out."""
    files = _files(Path(run_dir), TURNS, "turns", skip)
    return latest_rows(files, TURNS_SCHEMA, [T.request_key, T.turn])


def latest_rows(
    files: list[Path] | str, schema: pl.Schema, key: list[str], after: pl.DataFrame | None = None
) -> pl.LazyFrame:
    """The last row of each `key` in file order, then `after` (`files` may be a glob or URL
    polars can scan). Only the row numbers of the winners are held in memory (a `unique` over
    the whole table would hold all of it)."""
    extra = after if after is not None and after.height else None
    if not files and extra is None:
        return pl.LazyFrame(schema=schema)
    parts = [extra.lazy()] if extra is not None else []
    if files:
        scanned = pl.scan_parquet(
            files, schema=schema, low_memory=True, hive_partitioning=False,
            missing_columns="insert",
        )  # fmt: skip
        parts.insert(0, scanned)
    scan = pl.concat(parts, how="vertical").with_row_index(_ROW)
    try:
        winners = scan.group_by(key).agg(pl.col(_ROW).max()).select(_ROW).collect()[_ROW]
    except (pl.exceptions.PolarsError, OSError) as exc:
        if isinstance(files, str):  # a URL: its reader tells a missing table from the rest
            raise
        raise RunStoreError(_unreadable(files, schema, exc)) from None
    return scan.filter(pl.col(_ROW).is_in(winners.implode())).drop(_ROW)


def _unreadable(files: list[Path], schema: pl.Schema, exc: BaseException) -> str:
    """Which of `files` polars could not read, and why, as one line (the first file that is
    not a whole Parquet file or has columns the table has not; else all of them)."""
    for path in files:
        try:
            columns = pl.read_parquet_schema(path)
        except (pl.exceptions.PolarsError, OSError) as damaged:
            return f"{path}: {_not_parquet(damaged, part=path.parent.name == PARTS)}"
        extra = sorted(set(columns) - set(schema))
        if extra:
            return (
                f"{path}: it has columns this table does not ({', '.join(extra[:5])}); it "
                "is not a table of this run. Move it aside."
            )
    return f"{', '.join(str(f) for f in files)}: cannot be read: {first_line(exc)}."


def _not_parquet(exc: BaseException, *, part: bool) -> str:
    """Why a file is unreadable and what to do: a --resume sets a damaged part aside itself."""
    todo = (
        "A --resume sets it aside and sends its requests again."
        if part
        else "Move it aside; a --resume then sends its requests again."
    )
    return (
        f"not a whole Parquet file ({first_line(exc)}); it was damaged (a kill or a full disk "
        f"while it was written?). {todo}"
    )


def first_line(exc: BaseException) -> str:
    """The first line of `exc`'s message (its type's name when it has none), at most 300
    characters: the reason a one-line error message quotes."""
    return (str(exc).splitlines() or [type(exc).__name__])[0].strip()[:300]


def table_counts(run_dir: Path) -> dict[str, int]:
    """Rows in the run's tables: requests (final rows), ok, errors and attempts."""
    results, attempts_table = read_results_and_attempts(run_dir)
    status = results.select(R.status).collect()[R.status]
    ok = int((status == STATUS_OK).sum())
    attempts = attempts_table.select(pl.len()).collect().item()
    return {"requests": status.len(), "ok": ok, "errors": status.len() - ok, "attempts": attempts}


def list_runs(results_dir: Path, experiment: str) -> list[RunDirectory]:
    """The experiment's run directories under `results_dir`, oldest first (by start time)."""
    folder = results_dir / experiment
    found = [RunDirectory(p) for p in folder.glob("[!.]*") if (p / MANIFEST).is_file()]
    return sorted(found, key=_started_at)


def previous_complete(results_dir: Path, experiment: str, before: Path) -> RunDirectory | None:
    """The newest complete run of `experiment` other than `before` that started before it."""
    earlier = earlier_complete(results_dir, experiment, before)
    return earlier[0] if earlier else None


def earlier_complete(results_dir: Path, experiment: str, before: Path) -> list[RunDirectory]:
    """The complete runs of `experiment` that started before `before`, newest first."""
    runs = list_runs(results_dir, experiment)
    names = [r.path.name for r in runs]
    older = runs[: names.index(before.name)] if before.name in names else runs
    return [r for r in reversed(older) if _status(r) is RunStatus.COMPLETE]


def _status(run: RunDirectory) -> RunStatus | None:
    try:
        return run.read_manifest().status
    except RunStoreError:
        return None


def _started_at(run: RunDirectory) -> tuple[str, str]:
    try:
        started = run.read_manifest().started_at.isoformat()
    except RunStoreError:
        started = ""  # an unreadable run sorts first; its readers name what is wrong
    return started, run.path.name


def is_sharded(path: Path) -> bool:
    """Whether `path` holds a run split into shard directories (each with a manifest)."""
    return any((shard / MANIFEST).is_file() for shard in path.glob(f"{SHARD_PREFIX}*"))


def _files(run_dir: Path, final: str, kind: str, skip: Collection[Path] = ()) -> list[Path]:
    """The run's files of one kind in write order: compacted first, then parts (but those in
    `skip`); per shard."""
    files: list[Path] = []
    for directory in _with_shards(run_dir):
        files += _table_file(directory / final)
        parts = sorted((directory / PARTS).glob(f"{kind}-*.parquet"))
        files += [part for part in parts if part not in skip]
    return files


def _table_file(path: Path) -> list[Path]:
    """`[path]` for a table that is a regular file, `[]` for none; RunStoreError for one
    that is a directory, FIFO, device or broken link (read as none, a resume would send
    its requests again and compaction would replace it)."""
    if path.is_file():
        return [path]
    if not path.is_symlink() and not path.exists():
        return []
    problem = "It is a broken link." if not path.exists() else file_problem(path)
    raise RunStoreError(
        f"{path}: {problem or 'This is not a regular file.'} Move it aside: a table is a file."
    )


def _journals(run_dir: Path) -> list[JournalContents]:
    """The journals (a killed session's rows held nowhere else) of the run and its shards."""
    return [read_journal(d) for d in _with_shards(run_dir) if (d / JOURNAL).exists()]


def _with_shards(run_dir: Path) -> list[Path]:
    """The run directory, then its shard directories in order."""
    return [run_dir, *sorted(run_dir.glob(f"{SHARD_PREFIX}*"))]


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame | None:
    return pl.concat(frames) if frames else None


def _next_part_number(parts: Path) -> int:
    """After every part, set-aside ones too (a new part never takes a damaged one's name)."""
    found = [*parts.glob("*-*.parquet"), *parts.glob(f"*-*.parquet{SET_ASIDE}")]
    return max((part_number(p) for p in found), default=0) + 1


def _cannot_create(path: Path, exc: OSError) -> str:
    """Why the run directory `path` could not be made: a file where a directory must be
    named as such; else the system's reason, without the staging name it was made under."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return f"{parent}: this is a file, not a directory; give --results a directory."
    reason = exc.strerror or type(exc).__name__
    return f"Cannot create the run directory {path}: {reason}; check the path and its space."


def _exists(path: Path) -> RunStoreError:
    return RunStoreError(
        f"The run directory {path} already exists; runs are never overwritten. "
        "Choose another run id."
    )


def _remove_staging(staging: Path) -> None:
    if staging.is_dir():
        for leftover in staging.iterdir():
            leftover.unlink()
        staging.rmdir()
