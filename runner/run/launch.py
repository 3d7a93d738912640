"""Starting a run: check the options, resolve target and key, emulator, directory, then run.

The one path from "run this experiment" to a finished run directory, shared by `beta-runner
run` and `runner.run_experiment`: `prepare_run` checks everything that can be wrong with the
input (raising ConfigError/UsageError/RunStoreError, whose messages name the options as the
caller spells them: `--run-id` from the CLI, `run_id` from Python; see
`runner.run.option_names`) before a run directory is created or a request is sent; `run_prepared`
(async) or `start_run` (blocking) then runs it. A run is new, or continues an existing run
directory (`resume`, `retry_errors`). With `local`, the emulator runs in this process on a free
loopback port and receives a placeholder key: a real key is never sent to it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import anyio

from runner.config.base_url import base_url_problem, normalised
from runner.config.environment import Environment
from runner.config.load import LoadedExperiment, load_experiment
from runner.config.names import name_problem
from runner.config.types import Experiment
from runner.emulator import EmulatorConfig, EmulatorServer
from runner.errors import UsageError
from runner.plan.matrix import PlannedRequest, Shard, plan_requests
from runner.results.lock import RunLock
from runner.results.store import RunDirectory
from runner.results.writer import ResultObserver
from runner.run.batches import BatchOptions, BatchSender
from runner.run.option_names import FLAGS, OptionNames
from runner.run.resume import RESUME, RETRY_ERRORS, Continuation, continuation, locate
from runner.run.services import RunServices, http_client
from runner.run.session import RunOutcome, create_run_directory, execute_run, new_run_id

LOCAL_KEY = "local-emulator-key"
VIAS = ("live", "batches")
DEFAULT_BATCH_SIZE = 10_000
MAX_BATCH_SIZE = 100_000  # the API's limit
_KEY = re.compile(r"[\x21-\x7e]+")
_SHARD = re.compile(r"([0-9]{1,6})/([0-9]{1,6})")


@dataclass(frozen=True, kw_only=True)
class LaunchOptions:
    """What a run was asked to do: an experiment file (or a loaded `Experiment`) and how."""

    experiment: Path | Experiment
    results_dir: Path = Path("results")
    local: bool = False
    base_url: str | None = None
    run_id: str | None = None
    concurrency: int | None = None
    emulator: EmulatorConfig = field(default_factory=EmulatorConfig)
    resume: str | None = None
    retry_errors: str | None = None
    via: str = "live"
    batch_size: int | None = None  # requests per batch with via="batches" (default 10,000)
    shard: Shard | None = None
    names: OptionNames = FLAGS  # how errors name these options (KEYWORDS from Python)


@dataclass(frozen=True)
class PreparedRun:
    """A validated run, ready to start (`continuing` when it resumes an existing run)."""

    experiment: Experiment
    run_id: str
    api_key: str | None
    warnings: tuple[str, ...]
    continuing: Continuation | None = None
    shard: Shard | None = None

    @cached_property
    def planned(self) -> list[PlannedRequest]:
        """The requests this start will send (this shard's only, when sharded), planned once
        however often a caller asks."""
        todo = self.continuing.todo if self.continuing else plan_requests(self.experiment)
        if self.shard is None:
            return list(todo)
        return [p for p in todo if self.shard.holds(p.key)]

    @property
    def sending(self) -> int:
        """How many requests this start will send."""
        return len(self.planned)


def prepare_run(options: LaunchOptions, env: Environment) -> PreparedRun:
    """Load and check everything; raises ConfigError/UsageError/RunStoreError before anything
    is written."""
    _check_flags(options)
    loaded = _loaded(options.experiment, env)
    experiment = _with_overrides(loaded.experiment, options)
    _check_batchable(experiment, options)
    continuing = _continuation(experiment, options)
    if options.run_id is not None:
        problem = name_problem(options.run_id, options.names.name("run_id"))
        if problem is not None:
            raise UsageError(problem)
    run_id = continuing.run_id if continuing else options.run_id or new_run_id()
    api_key = api_key_for(experiment, env, local=options.local, names=options.names)
    shard = options.shard or _recorded_shard(continuing)
    return PreparedRun(experiment, run_id, api_key, loaded.warnings, continuing, shard)


def _loaded(experiment: Path | Experiment, env: Environment) -> LoadedExperiment:
    if isinstance(experiment, Experiment):
        return LoadedExperiment(experiment, ())
    return load_experiment(experiment, env_base_url=env.base_url)


def _recorded_shard(continuing: Continuation | None) -> Shard | None:
    recorded = continuing.manifest.shard if continuing else None
    return parse_shard(recorded) if recorded else None


def _check_flags(options: LaunchOptions) -> None:
    n = options.names
    check_base_url_flag(options.local, options.base_url, n)
    resume, retry, run_id = n.name("resume"), n.name("retry_errors"), n.name("run_id")
    if options.resume is not None and options.retry_errors is not None:
        raise UsageError(f"Use either {resume} or {retry}, not both.")
    if options.run_id is not None and (options.resume or options.retry_errors):
        raise UsageError(f"{run_id} names a new run; {resume} and {retry} continue one.")
    if options.shard is not None and options.run_id is None and options.resume is None:
        raise UsageError(
            f"{n.name('shard')} needs {run_id}, the same on every machine, so the shards form "
            "one run."
        )
    _check_via(options.via, options.batch_size, n)


def _check_via(via: str, batch_size: int | None, n: OptionNames) -> None:
    if via not in VIAS:
        raise UsageError(f"{n.given('via', via, quoted=True)} must be one of {', '.join(VIAS)}.")
    size, batches = n.given("batch_size", batch_size), n.given("via", "batches")
    if batch_size is not None and via != "batches":
        raise UsageError(
            f"{size} only applies with {batches}; add {batches}, or drop {n.name('batch_size')}."
        )
    if batch_size is not None and not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise UsageError(f"{size} must be between 1 and {MAX_BATCH_SIZE}.")


def _check_batchable(experiment: Experiment, options: LaunchOptions) -> None:
    """Batches answer every request of a round at once, later: a conversation needs each
    answer before its next request, so conversation cases only run live."""
    if options.via != "batches":
        return
    talking = [case.id for case in experiment.cases if case.conversation]
    if talking:
        batches = options.names.given("via", "batches")
        raise UsageError(
            f"{batches} cannot run conversation cases (tool loops or scripted turns need "
            f"each answer before the next request), and {experiment.path} has "
            f"{len(talking)}: {', '.join(talking[:3])}{', ...' if len(talking) > 3 else ''}. "
            f"Run it live (without {batches}), or set max_turns = 1 on those cases."
        )


def _continuation(experiment: Experiment, options: LaunchOptions) -> Continuation | None:
    where = (options.results_dir, experiment, options.names)
    if options.resume is not None:
        path = locate(options.resume, *where, "resume")
        return continuation(experiment, RESUME, path)
    if options.retry_errors is not None:
        path = locate(options.retry_errors, *where, "retry_errors")
        return continuation(experiment, RETRY_ERRORS, path)
    return None


def start_run(
    prepared: PreparedRun,
    options: LaunchOptions,
    observer: ResultObserver | None = None,
    warn: Callable[[str], None] | None = None,
) -> RunOutcome:
    """`run_prepared` in a new event loop (for code that has none running)."""
    return anyio.run(run_prepared, prepared, options, observer, warn)


async def run_prepared(
    prepared: PreparedRun,
    options: LaunchOptions,
    observer: ResultObserver | None = None,
    warn: Callable[[str], None] | None = None,
) -> RunOutcome:
    """Create (or lock, recover and re-read) the run directory and run it (against the
    in-process emulator with `local`). The directory stays locked while this process writes
    to it; what recovering a killed session's directory found is told to `warn`."""
    with target_url(options.local, options.base_url, options.emulator) as base_url:
        experiment = prepared.experiment
        if base_url is not None:
            target = dataclasses.replace(experiment.target, base_url=base_url)
            experiment = dataclasses.replace(experiment, target=target)
        if prepared.continuing is not None:
            run_dir = RunDirectory.open(prepared.continuing.run_dir)
        else:
            shard = (options.shard.name, options.shard.label) if options.shard else None
            run_dir = create_run_directory(
                options.results_dir, experiment, prepared.run_id, prepared.sending, shard
            )
        with RunLock(run_dir.path):
            for warning in run_dir.recover():
                (warn or _ignore)(warning)
            # Read again under the lock: another writer may have finished requests meanwhile.
            prepared = _relocked(prepared)
            return await _run(experiment, run_dir, prepared, options, observer)


def _ignore(warning: str) -> None:
    """Drop a warning nobody asked to see."""


def _relocked(prepared: PreparedRun) -> PreparedRun:
    before = prepared.continuing
    if before is None:
        return prepared
    again = continuation(prepared.experiment, before.mode, before.run_dir)
    return dataclasses.replace(prepared, continuing=again)


async def _run(
    experiment: Experiment,
    run_dir: RunDirectory,
    prepared: PreparedRun,
    options: LaunchOptions,
    observer: ResultObserver | None,
) -> RunOutcome:
    async with http_client(experiment.run.concurrency, experiment.run.timeout_s) as http:
        services = RunServices.real(http, prepared.api_key, observer)
        services = dataclasses.replace(services, names=options.names)
        sender = None
        if options.via == "batches":
            batching = BatchOptions(max_requests=options.batch_size or DEFAULT_BATCH_SIZE)
            sender = BatchSender(experiment, prepared.run_id, services, run_dir.path, batching)
        return await execute_run(
            experiment,
            run_dir,
            prepared.run_id,
            services,
            planned=prepared.planned,
            continuing=prepared.continuing,
            sender=sender,
        )


def check_base_url_flag(local: bool, base_url: str | None, names: OptionNames = FLAGS) -> None:
    """UsageError when `--base-url` is given with `--local` or is not a valid base URL."""
    if base_url is None:
        return
    if local:
        raise UsageError(f"Use either {names.name('local')} or {names.name('base_url')}, not both.")
    problem = base_url_problem(base_url)
    if problem is not None:
        raise UsageError(f"{names.name('base_url')}: {problem}.")


def parse_shard(text: str, names: OptionNames = FLAGS) -> Shard:
    """`K/N` with 1 <= K <= N; UsageError otherwise."""
    found = _SHARD.fullmatch(text)
    if found and 1 <= int(found[1]) <= int(found[2]):
        return Shard(int(found[1]), int(found[2]))
    shown = names.given("shard", text, quoted=True)
    raise UsageError(f"{shown} must be K/N with 1 <= K <= N, e.g. 1/4.")


@contextmanager
def target_url(
    local: bool, base_url: str | None, emulator: EmulatorConfig | None = None
) -> Iterator[str | None]:
    """The base URL to use instead of the experiment's (None: keep it); with `local`, the
    emulator's, serving on loopback for the duration."""
    if not local:
        yield normalised(base_url) if base_url is not None else None
        return
    config = emulator or EmulatorConfig()
    # Nobody reads the in-process emulator's request log; keep a long run's memory flat.
    with EmulatorServer(dataclasses.replace(config, record_requests=False)) as server:
        yield server.url


def _with_overrides(experiment: Experiment, options: LaunchOptions) -> Experiment:
    if options.concurrency is None:
        return experiment
    if not 1 <= options.concurrency <= 1024:
        shown = options.names.given("concurrency", options.concurrency)
        raise UsageError(f"{shown} must be between 1 and 1024.")
    settings = dataclasses.replace(experiment.run, concurrency=options.concurrency)
    return dataclasses.replace(experiment, run=settings)


def api_key_for(
    experiment: Experiment, env: Environment, *, local: bool, names: OptionNames = FLAGS
) -> str:
    """The key to send: a placeholder for the local emulator, else the experiment's variable;
    UsageError naming the variable when it is not set."""
    if local:
        return LOCAL_KEY
    variable = experiment.target.api_key_env
    key = env.api_key(variable)
    if key is not None and not _KEY.fullmatch(key):
        raise UsageError(
            f"{variable}: the key in this environment variable holds whitespace, a control "
            "character or a non-ASCII character (often a trailing newline or space from a file "
            "or a copy); nothing was sent. Set the variable to the key alone."
        )
    if key is None:
        raise UsageError(
            f"The environment variable {experiment.target.api_key_env} (named by "
            f"[target] api_key_env in {experiment.path}) is not set; export your API key in it, "
            f"or use {names.given('local', True)} to run against the built-in emulator."
        )
    return key
