"""Continuing a run in its own directory: find it, check it still matches, list what is left.

`--resume` sends the requests that have no final row; `--retry-errors` those whose final row
is an error (the new row wins when the run is read; earlier attempts stay in the attempts
table). Either way a conversation case continues after its last finished turn (`turns`): its
finished turns are not sent again. Both refuse, naming what changed, when the experiment no
longer matches the run's manifest, and both check everything before anything is written.

A part that is not a whole Parquet file (see `runner.results.damaged`) is read around, as
recovery will set it aside: a request whose final row it held has none and is sent again,
and, once an attempts or turns part is lost, so is a request whose final row counts more
attempts (or a conversation more turns) than remain. Its new final row then wins; no request
is counted twice and none is dropped unsaid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from runner.config.types import Experiment
from runner.errors import RunStoreError, UsageError
from runner.plan.matrix import PlannedRequest, plan_requests
from runner.results.damaged import ATTEMPTS, TURNS, damaged_parts, kinds_damaged
from runner.results.manifest import Manifest, changed_sections
from runner.results.schema import STATUS_ERROR, STATUS_OK, A, R, T, TurnRow
from runner.results.store import (
    MANIFEST,
    PARTS,
    RunDirectory,
    list_runs,
    read_results_and_attempts,
    read_turns,
)
from runner.run.option_names import OptionNames

RESUME = "resume"
RETRY_ERRORS = "retry-errors"
LATEST = "latest"


@dataclass(frozen=True)
class Continuation:
    """A run to continue: its directory, manifest, the requests to send, attempts made so far."""

    mode: str
    run_dir: Path
    run_id: str
    manifest: Manifest = field(repr=False)
    todo: tuple[PlannedRequest, ...]
    prior_attempts: Mapping[str, int] = field(repr=False)
    turns: Mapping[str, tuple[TurnRow, ...]] = field(default_factory=dict, repr=False)


def locate(
    target: str, results_dir: Path, experiment: Experiment, names: OptionNames, option: str
) -> Path:
    """The run directory `target` (given as `option`, e.g. "resume") names: a path, or
    `latest` (the newest run of `experiment`)."""
    given = names.given(option, target)
    if target == LATEST:
        runs = list_runs(results_dir, experiment.name)
        if not runs:
            raise UsageError(
                f"{given}: there is no run of {experiment.name!r} under {results_dir}; "
                f"start one without it, or pass {names.name('results_dir')} where the runs are."
            )
        return runs[-1].path
    path = Path(target)
    if not path.is_dir():
        raise RunStoreError(f"{given}: no such directory.")
    if not (path / MANIFEST).exists() and not (path / MANIFEST).is_symlink():
        raise RunStoreError(f"{given}: not a run directory (it has no {MANIFEST}).")
    return path


def continuation(experiment: Experiment, mode: str, path: Path) -> Continuation:
    """What continuing the run at `path` in `mode` would send; RunStoreError if it cannot."""
    manifest = _manifest(path)
    changed = changed_sections(manifest, experiment)
    if changed:
        raise RunStoreError(
            f"{path} was run with a different experiment: {', '.join(changed)} changed since "
            f"(compared with {experiment.path}). Start a new run instead."
        )
    damaged = damaged_parts(path / PARTS)
    results, attempts = read_results_and_attempts(path, damaged)  # the journal read once
    finals = results.select(R.request_key, R.status, R.attempts, R.turns).collect()
    planned = plan_requests(experiment)
    talking = {p.key for p in planned if p.case.conversation}
    broken = _rows_lost(path, finals, attempts, talking, damaged)
    if mode == RETRY_ERRORS:
        wanted = set(finals.filter(pl.col(R.status) == STATUS_ERROR)[R.request_key]) | broken
        todo = [p for p in planned if p.key in wanted]
    else:
        done = set(finals[R.request_key]) - broken
        todo = [p for p in planned if p.key not in done]
    run_id = manifest.run_id
    turns = finished_turns(path, {p.key for p in todo} & talking, damaged)
    made = _attempts_made(attempts)
    return Continuation(mode, path, run_id, manifest, tuple(todo), made, turns)


def _rows_lost(
    path: Path, finals: pl.DataFrame, attempts: pl.LazyFrame, talking: set[str], skip: list[Path]
) -> set[str]:
    """Requests with a final row that counts more attempts (or, for a conversation in
    `talking`, turns) than the run still holds: rows lost with a damaged part."""
    lost: set[str] = set()
    kinds = kinds_damaged(path / PARTS)
    if ATTEMPTS in kinds:
        lost |= _fewer_than(finals, attempts.select(A.request_key), R.attempts)
    if TURNS in kinds:
        turns = read_turns(path, skip).select(T.request_key)
        talks = finals.filter(pl.col(R.request_key).is_in(sorted(talking)))
        lost |= _fewer_than(talks, turns.rename({T.request_key: R.request_key}), R.turns)
    return lost


def _fewer_than(finals: pl.DataFrame, rows: pl.LazyFrame, counted: str) -> set[str]:
    """The request keys whose final row's `counted` is more than their rows in `rows`."""
    held = rows.group_by(R.request_key).agg(pl.len().alias("held")).collect()
    short = finals.join(held, on=R.request_key, how="left").filter(
        pl.col("held").fill_null(0) < pl.col(counted).fill_null(0)
    )
    return set(short[R.request_key])


def finished_turns(
    path: Path, keys: set[str], skip: list[Path] | None = None
) -> dict[str, tuple[TurnRow, ...]]:
    """Per request key in `keys`: its finished turns from turn 1 on, up to the first gap or
    failed turn (what a conversation continues from); parts in `skip` left out."""
    if not keys:
        return {}
    frame = (
        read_turns(path, skip or ())
        .filter(pl.col(T.request_key).is_in(sorted(keys)))
        .sort(T.request_key, T.turn)
        .collect()
    )
    found: dict[str, list[TurnRow]] = {}
    for values in frame.iter_rows(named=True):
        row = TurnRow(**values)
        kept = found.setdefault(row.request_key, [])
        if row.status == STATUS_OK and row.turn == len(kept) + 1:
            kept.append(row)
    return {key: tuple(rows) for key, rows in found.items() if rows}


def _manifest(path: Path) -> Manifest:
    return RunDirectory.open(path).read_manifest()


def _attempts_made(attempts: pl.LazyFrame) -> dict[str, int]:
    made = attempts.group_by(A.request_key).agg(pl.col(A.attempt).max()).collect()
    return dict(zip(made[A.request_key], made[A.attempt], strict=True))
