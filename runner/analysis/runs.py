"""Finding and loading runs for analysis: one run directory, or many by list, glob or results dir.

Both return the results table as a `LazyFrame` through `runner.results.store.read_results`
(compacted files and parts, latest row of a request winning), with `cost_usd` priced by the
prices each run recorded unless `prices=` is given; rows keep their own `run_id` column.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TypeGuard

import polars as pl

from runner.analysis.cost import with_cost
from runner.catalog.prices import PriceTable
from runner.config.prices import recorded_prices
from runner.errors import RunStoreError
from runner.results.manifest import MANIFEST, Counts, Manifest, RunStatus, read_manifest
from runner.results.schema import (
    JUDGE_REQUESTS_SCHEMA,
    RESULTS_SCHEMA,
    SCORES_SCHEMA,
    TURNS_SCHEMA,
    J,
    R,
    S,
    T,
)
from runner.results.store import (
    JUDGE_REQUESTS,
    RESULTS,
    SCORES,
    TURNS,
    RunDirectory,
    first_line,
    is_sharded,
    latest_rows,
    read_judge_requests,
    read_results,
    read_scores,
    read_turns,
)

RunPaths = str | Path | Iterable[str | Path]


def load_run(path: str | Path, *, prices: PriceTable | None = None) -> pl.LazyFrame:
    """One run's results, from all of its shards, with a `cost_usd` column.

    `path` is a run directory, or the URL of one that polars can scan (`s3://`, `gs://`,
    `az://`, `file://`: the compacted `results.parquet` files of the run and of each shard;
    `http://`, `https://`, which cannot list a directory: the run's own `results.parquet`,
    so a run split into shards is read shard by shard there). Costs use `prices` when
    given, else the prices the run recorded in its manifest (a URL's manifest is not read:
    there, without `prices`, the frame has no `cost_usd` column, and a UserWarning says
    what to pass).
    RunStoreError when a local `path` is not a run directory or its manifest is damaged, or
    when a URL's tables cannot be read (one line: the URL and what went wrong).
    """
    if is_url(path):
        remote = _remote(path, RESULTS, RESULTS_SCHEMA, [R.request_key])
        if remote is None:
            raise RunStoreError(f"{path}: no {RESULTS} there; is it the URL of a run directory?")
        if prices is None:
            warnings.warn(_unpriced(path), UserWarning, stacklevel=2)
            return remote
        return with_cost(remote, prices)
    local = Path(path)
    if not _is_run(local):
        RunDirectory.open(local)  # raises, naming what is missing
    for directory in _manifest_dirs(local):
        read_manifest(directory)  # raises `<file>: <what is wrong>` for a damaged run
    return with_cost(read_results(local), prices or run_prices(local))


def is_url(path: str | Path) -> TypeGuard[str]:
    """Whether `path` names a run by URL (`scheme://...`) rather than a local directory."""
    return isinstance(path, str) and "://" in path


_UNLISTABLE = ("http", "https")  # no directory listing: a glob cannot find shards there


def _remote(url: str, name: str, schema: pl.Schema, key: list[str]) -> pl.LazyFrame | None:
    """The table `name` of the run at `url`, latest row per `key`, or None when there is no
    such table; RunStoreError, one line naming the URL, when it cannot be read."""
    base = url.rstrip("/")
    listable = base.split("://", 1)[0].lower() not in _UNLISTABLE
    pattern = f"{base}/**/{name}" if listable else f"{base}/{name}"
    try:
        table = latest_rows(pattern, schema, key)
        found = table.select(pl.len()).collect().item() > 0
    except FileNotFoundError:  # http(s): the file is not there
        return None
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise RunStoreError(_unreadable(pattern, exc)) from None
    return table if found else None  # an object store's glob that matched nothing


def _unreadable(pattern: str, exc: BaseException) -> str:
    return f"{pattern}: cannot be read ({first_line(exc)}); check the URL and that it is reachable."


def _unpriced(url: str) -> str:
    return (
        f"load_run({url!r}): a run read from a URL is not priced (its manifest, which records "
        "its prices, is not read), so the frame has no cost_usd column; pass prices= the "
        "run's prices (runner.load_prices(FILE), or runner.default_prices() for the shipped "
        "table) to price it."
    )


def _manifest_dirs(run: Path) -> list[Path]:
    return [d for d in [run, *sorted(run.glob("shard-*"))] if (d / MANIFEST).is_file()]


def run_manifests(path: str | Path) -> list[Manifest]:
    """The manifests of a run: its own, or one per shard for a run split into shards.
    RunStoreError when `path` is not a run directory or a manifest is damaged."""
    local = Path(path)
    if not _is_run(local):
        RunDirectory.open(local)  # raises, naming what is missing
    return [read_manifest(directory) for directory in _manifest_dirs(local)]


def run_manifest(path: str | Path) -> Manifest:
    """A run's manifest; for a run split into shards, one manifest for the whole run: the
    first shard's experiment, the earliest start and latest finish, counts summed, and a status
    that is complete only when every shard's is (else the first shard's that is not)."""
    manifests = run_manifests(path)
    if len(manifests) == 1:
        return manifests[0]
    first = manifests[0]
    unfinished = [m.status for m in manifests if m.status != RunStatus.COMPLETE]
    finished = [m.finished_at for m in manifests]
    sums = {
        f.name: sum(getattr(m.counts, f.name) for m in manifests)
        for f in dataclasses.fields(Counts)
    }
    return dataclasses.replace(
        first,
        status=unfinished[0] if unfinished else RunStatus.COMPLETE,
        started_at=min(m.started_at for m in manifests),
        finished_at=None if None in finished else max(f for f in finished if f is not None),
        counts=Counts(**sums),
        shard=None,
    )


def experiment_runs(results_dir: Path, experiment: str) -> list[Path]:
    """The experiment's runs under `results_dir`, whole or split into shards, by name (run ids
    start with their UTC start time, so this is oldest first for generated ids)."""
    folder = results_dir / experiment
    return sorted(p for p in folder.glob("*") if _is_run(p)) if folder.is_dir() else []


def load_scores(path: str | Path) -> pl.LazyFrame | None:
    """A run's scores (`scores.parquet` and parts, all shards), or None when it has none; of
    a URL polars can scan, like `load_run`, the `scores.parquet` files of the run and shards."""
    if is_url(path):
        return _remote(path, SCORES, SCORES_SCHEMA, [S.request_key, S.scorer])
    scores = read_scores(Path(path))
    return scores if scores.select(pl.len()).collect().item() else None


def load_turns(path: str | Path) -> pl.LazyFrame:
    """A run's turns (`turns.parquet`, one row per turn of a conversation case; empty for a
    run without), of a local run directory or of a URL as `load_run` reads one."""
    if is_url(path):
        found = _remote(path, TURNS, TURNS_SCHEMA, [T.request_key, T.turn])
        return found if found is not None else pl.LazyFrame(schema=TURNS_SCHEMA)
    return read_turns(Path(path))


def load_judge_requests(path: str | Path, *, prices: PriceTable | None = None) -> pl.LazyFrame:
    """A run's judge requests (empty when it has none), with `cost_usd` priced like
    `load_run`'s (`prices`, else the run's recorded prices; a URL's only with `prices`)."""
    if is_url(path):
        key = [J.request_key]
        found = _remote(path, JUDGE_REQUESTS, JUDGE_REQUESTS_SCHEMA, key)
        table = found if found is not None else pl.LazyFrame(schema=JUDGE_REQUESTS_SCHEMA)
        return with_cost(table, prices) if prices is not None else table
    return with_cost(read_judge_requests(Path(path)), prices or run_prices(path))


def run_prices(path: str | Path) -> PriceTable:
    """The prices a run was priced with, as its manifest recorded them (the first shard's,
    for a split run: every shard runs the same experiment)."""
    for directory in _manifest_dirs(Path(path)):
        return recorded_prices(directory / MANIFEST, read_manifest(directory).prices())
    raise RunStoreError(f"{path} has no {MANIFEST}; it is not a run directory.")


def scan_runs(
    paths: RunPaths, experiment: str | None = None, *, prices: PriceTable | None = None
) -> pl.LazyFrame:
    """The results of many runs stacked: run directories, a glob of them, or a results dir.

    A results directory (`results/`) stands for every run under it, or under
    `results/<experiment>/` when `experiment` is given; `experiment` also filters run
    directories named directly. Each run is priced as `load_run` prices it (`prices`, else
    its own recorded prices). RunStoreError when no run is found.
    """
    runs = sorted({run for item in _items(paths) for run in _runs_in(Path(item), experiment)})
    if not runs:
        raise RunStoreError(
            f"No run directories (with a {MANIFEST}) were found in {_shown(paths)}; "
            "give run directories, a glob of them, or a results directory."
        )
    frames = [with_cost(read_results(run), prices or run_prices(run)) for run in runs]
    return pl.concat(frames, how="vertical")


def _items(paths: RunPaths) -> list[str | Path]:
    if isinstance(paths, Path):
        return [paths]
    if isinstance(paths, str):
        return _glob(paths) if any(c in paths for c in "*?[") else [paths]
    return list(paths)


def _glob(pattern: str) -> list[str | Path]:
    path = Path(pattern)
    anchor = Path(path.anchor) if path.is_absolute() else Path()
    return sorted(anchor.glob(str(path.relative_to(anchor))))


def _runs_in(path: Path, experiment: str | None) -> list[Path]:
    if _is_run(path):
        return [path] if experiment is None or path.parent.name == experiment else []
    if not path.is_dir():
        return []
    roots = [path / experiment] if experiment is not None else [path, *path.iterdir()]
    found = [run for root in roots if root.is_dir() for run in root.iterdir() if _is_run(run)]
    return [run for run in found if not run.name.startswith(".")]  # a run still being made


def _is_run(path: Path) -> bool:
    return (path / MANIFEST).is_file() or is_sharded(path)


def _shown(paths: RunPaths) -> str:
    if isinstance(paths, str | Path):
        return str(paths)
    return ", ".join(str(p) for p in paths) or "an empty list"
