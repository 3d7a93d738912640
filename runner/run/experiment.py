"""Running an experiment from Python: `run_experiment` (blocking) and `arun_experiment` (async).

Both go through the same path as `beta-runner run` (`runner.run.launch`): the same checks, the
same run directory, the same tables. They return a `RunHandle` naming the run and its outcome;
`handle.results()` reads the results table as a polars LazyFrame.

    h = runner.run_experiment("experiments/quickstart.toml", local=True)
    h.results().collect()              # one row per request

In code that already runs an event loop (a Jupyter notebook, an async application), either
`await runner.arun_experiment(...)`, which runs in that loop, or call `run_experiment`, which
notices the running loop and runs the experiment in a worker thread with its own loop, blocking
the caller until it ends. Signals are watched (Ctrl-C stops dispatching and marks the run
interrupted, as in the CLI) only when the run's loop is in the main thread.

Bad input raises the typed errors of `runner.errors` (ConfigError for the experiment file,
UsageError for a bad combination of arguments, RunStoreError for a run directory that cannot be
used) before anything is written; a run stopped by an unexpected error raises RunFailed.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import ParamSpec, TypeVar

import anyio
import polars as pl

from runner.analysis.runs import load_run
from runner.catalog.prices import PriceTable
from runner.config.environment import Environment
from runner.config.types import Experiment
from runner.emulator import EmulatorConfig
from runner.results.manifest import Counts, RunStatus
from runner.results.store import RunDirectory, read_attempts
from runner.results.writer import ResultObserver
from runner.run.launch import LaunchOptions, parse_shard, prepare_run, run_prepared
from runner.run.option_names import KEYWORDS

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class RunHandle:
    """A finished (or stopped) run: where it is, how it ended, and its tables."""

    run_dir: Path
    run_id: str
    status: RunStatus
    counts: Counts
    warnings: tuple[str, ...] = ()

    def results(self, *, prices: PriceTable | None = None) -> pl.LazyFrame:
        """One row per request, with `cost_usd` at `prices` (default: the run's own prices)."""
        return load_run(self.run_dir, prices=prices)

    def attempts(self) -> pl.LazyFrame:
        """One row per HTTP attempt."""
        return read_attempts(self.run_dir)


async def arun_experiment(
    experiment: str | Path | Experiment,
    *,
    local: bool = False,
    base_url: str | None = None,
    results_dir: str | Path = "results",
    run_id: str | None = None,
    concurrency: int | None = None,
    emulator: EmulatorConfig | None = None,
    resume: str | Path | None = None,
    retry_errors: str | Path | None = None,
    shard: str | None = None,
    via: str = "live",
    batch_size: int | None = None,
    observer: ResultObserver | None = None,
) -> RunHandle:
    """`run_experiment` in the caller's event loop (asyncio): `await` it from async code."""
    options = LaunchOptions(
        experiment=experiment if isinstance(experiment, Experiment) else Path(experiment),
        results_dir=Path(results_dir),
        local=local,
        base_url=base_url,
        run_id=run_id,
        concurrency=concurrency,
        emulator=emulator or EmulatorConfig(),
        resume=str(resume) if resume is not None else None,
        retry_errors=str(retry_errors) if retry_errors is not None else None,
        shard=parse_shard(shard, KEYWORDS) if shard is not None else None,
        via=via,
        batch_size=batch_size,
        names=KEYWORDS,
    )
    prepared = prepare_run(options, Environment.from_os())
    if prepared.continuing is not None and prepared.sending == 0:
        return _as_it_stands(prepared.continuing.run_dir, prepared.warnings)
    outcome = await run_prepared(prepared, options, observer)
    return RunHandle(
        outcome.run_dir, outcome.run_id, outcome.status, outcome.counts, prepared.warnings
    )


def _blocking(run: Callable[P, Coroutine[object, object, T]]) -> Callable[P, T]:
    """`run` as a blocking call taking the same arguments (the one list of them is `run`'s):
    in a new event loop, or in a worker thread with its own loop when this thread already
    runs one."""

    @functools.wraps(run)
    def blocking(*args: P.args, **kwargs: P.kwargs) -> T:
        start = partial(run, *args, **kwargs)
        if not _loop_running():
            return anyio.run(start)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="beta-runner") as pool:
            return pool.submit(anyio.run, start).result()

    return blocking


run_experiment = _blocking(arun_experiment)
run_experiment.__name__ = run_experiment.__qualname__ = "run_experiment"
run_experiment.__doc__ = """Run `experiment` (a TOML file or a loaded `Experiment`) and wait for it.

    `local` runs against the built-in emulator (configured by `emulator`); `base_url` sends to
    another server; `results_dir`, `run_id`, `concurrency`, `resume`/`retry_errors` (a run
    directory or "latest"), `shard` ("K/N", with `run_id`), `via` ("live" or "batches": Message
    Batches, which can take hours) and `batch_size` mean what the `beta-runner run` options of
    the same names mean; errors name these keywords, not the flags. `observer.result(row)`
    sees each finished request. From inside a running event loop the run goes to a worker
    thread (see the module docstring). Takes exactly `arun_experiment`'s arguments.
    """


def _as_it_stands(run_dir: Path, warnings: tuple[str, ...]) -> RunHandle:
    """A continuation with nothing to send: the run as its manifest says it is."""
    manifest = RunDirectory.open(run_dir).read_manifest()
    return RunHandle(run_dir, manifest.run_id, manifest.status, manifest.counts, warnings)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
