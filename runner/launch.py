"""Starting a run from command-line options: resolve target and key, emulator, directory.

Everything that can be wrong with the input is checked before a run directory is created or a
request is sent. With `local`, the emulator runs in this process on a free loopback port and
receives a placeholder key: a real key is never sent to it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from runner.config import Experiment
from runner.emulator import EmulatorConfig, EmulatorServer
from runner.environment import Environment
from runner.errors import UsageError
from runner.experiment_file import load_experiment
from runner.run import RunOutcome, RunServices, execute_run, http_client, new_run_id
from runner.store import RunDirectory
from runner.writer import ResultObserver

LOCAL_KEY = "local-emulator-key"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class LaunchOptions:
    """What `beta-runner run` was asked to do."""

    experiment_path: Path
    results_dir: Path = Path("results")
    local: bool = False
    base_url: str | None = None
    run_id: str | None = None
    concurrency: int | None = None
    emulator: EmulatorConfig = field(default_factory=EmulatorConfig)


@dataclass(frozen=True)
class PreparedRun:
    """A validated run, ready to start."""

    experiment: Experiment
    run_id: str
    api_key: str | None
    warnings: tuple[str, ...]


def prepare_run(options: LaunchOptions, env: Environment) -> PreparedRun:
    """Load and check everything; raises ConfigError/UsageError before anything is written."""
    if options.local and options.base_url:
        raise UsageError("Use either --local or --base-url, not both.")
    loaded = load_experiment(options.experiment_path, env_base_url=env.base_url)
    experiment = _with_overrides(loaded.experiment, options)
    run_id = options.run_id or new_run_id()
    if not _RUN_ID.match(run_id):
        raise UsageError(
            f"--run-id {run_id!r} must be letters, digits, '.', '_' or '-' (at most 128)."
        )
    return PreparedRun(experiment, run_id, _api_key(experiment, options, env), loaded.warnings)


def start_run(
    prepared: PreparedRun, options: LaunchOptions, observer: ResultObserver | None = None
) -> RunOutcome:
    """Create the run directory and run it (against the in-process emulator with `local`)."""
    with _target(options) as base_url:
        experiment = prepared.experiment
        if base_url is not None:
            target = dataclasses.replace(experiment.target, base_url=base_url)
            experiment = dataclasses.replace(experiment, target=target)
        run_dir = RunDirectory.create(options.results_dir, experiment.name, prepared.run_id)
        return anyio.run(_run, experiment, run_dir, prepared, observer)


async def _run(
    experiment: Experiment,
    run_dir: RunDirectory,
    prepared: PreparedRun,
    observer: ResultObserver | None,
) -> RunOutcome:
    async with http_client(experiment.run.concurrency, experiment.run.timeout_s) as http:
        services = RunServices.real(http, prepared.api_key, observer)
        return await execute_run(experiment, run_dir, prepared.run_id, services)


@contextmanager
def _target(options: LaunchOptions) -> Iterator[str | None]:
    if not options.local:
        yield options.base_url
        return
    with EmulatorServer(options.emulator) as server:
        yield server.url


def _with_overrides(experiment: Experiment, options: LaunchOptions) -> Experiment:
    if options.concurrency is None:
        return experiment
    if not 1 <= options.concurrency <= 1024:
        raise UsageError(f"--concurrency {options.concurrency} must be between 1 and 1024.")
    settings = dataclasses.replace(experiment.run, concurrency=options.concurrency)
    return dataclasses.replace(experiment, run=settings)


def _api_key(experiment: Experiment, options: LaunchOptions, env: Environment) -> str | None:
    if options.local:
        return LOCAL_KEY
    key = env.api_key(experiment.target.api_key_env)
    if key is None:
        raise UsageError(
            f"The environment variable {experiment.target.api_key_env} (named by "
            f"[target] api_key_env in {experiment.path}) is not set; export your API key in it, "
            "or use --local to run against the built-in emulator."
        )
    return key
