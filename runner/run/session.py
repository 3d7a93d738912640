"""Orchestration of one run: matrix -> workers under the schedulers -> one writer -> manifest.

A guard task group holds a signal watcher and the loop-lag ticker (`client_lag_ms`) for the
whole run, with what existed before it frozen out of the garbage collector (`frozen_heap`);
inside it one task group holds the
writer, and a cancellable scope holds a feeder and the workers. A first SIGINT/SIGTERM cancels
that scope only (in-flight attempts are cancelled), so the writer still flushes what finished,
the run is compacted and the manifest says "interrupted"; a second signal exits at once. An
unexpected error leaves the parts as they are, marks the manifest "failed" and becomes
`RunFailed`. Each model has its own lane of workers (`runner.run.lanes`).
"""

from __future__ import annotations

import dataclasses
import gc
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import anyio
import anyio.abc
import httpx
from anyio.streams.memory import MemoryObjectSendStream

from runner.clock import Clock, MonotonicClock, Sleep, real_sleep, utc_now
from runner.config.types import Experiment
from runner.errors import RunFailed, TargetUnusable
from runner.http.client import MessagesClient
from runner.http.lag import LoopLag
from runner.http.transport import PooledTransport, RunClient
from runner.plan.matrix import PlannedRequest, plan_requests
from runner.redact import Redactor
from runner.results.journal import Journal
from runner.results.manifest import Counts, Manifest, RunStatus, new_manifest
from runner.results.store import RunDirectory, table_counts
from runner.results.writer import ResultObserver, Row, RowWriter
from runner.run.execute import RequestContext, Unwatched
from runner.run.lanes import AttemptForwarder, Lane, Prior, start_model_lane
from runner.run.option_names import FLAGS, OptionNames
from runner.run.resume import Continuation
from runner.run.scoring import (
    DroppedAttempts,
    LiveScoring,
    judge_lane,
    score_session,
)
from runner.run.target import TargetWatch
from runner.schedule.scheduler import Scheduler

_EXIT_BY_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}


@dataclass
class RunOutcome:
    """How a run ended: its directory, status, counts and the exit code it implies."""

    run_dir: Path
    run_id: str
    status: RunStatus
    counts: Counts
    exit_code: int


class Sender(Protocol):
    """Another way to send a run's requests (Message Batches): it must send one result row
    per finished request, and attempt rows, on `rows`."""

    async def __call__(
        self,
        todo: list[PlannedRequest],
        rows: MemoryObjectSendStream[Row],
        prior: Mapping[str, int],
    ) -> None:
        """Send `todo`; `prior` holds attempts made by earlier sessions, per request key."""
        ...


def create_run_directory(
    results_dir: Path,
    experiment: Experiment,
    run_id: str,
    sending: int,
    shard: tuple[str, str] | None = None,
) -> RunDirectory:
    """A new run directory holding its opening manifest (status running); `shard` is the
    shard's directory name and label, for one shard of a split run."""
    manifest = new_manifest(experiment, run_id, utc_now(), sending)
    if shard is not None:
        manifest = dataclasses.replace(manifest, shard=shard[1])
    folder = shard[0] if shard is not None else None
    return RunDirectory.create(results_dir, experiment.name, run_id, manifest, folder)


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus a random suffix."""
    return f"{utc_now():%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def http_client(concurrency: int, timeout_s: float) -> httpx.AsyncClient:
    """The run's one HTTP client: as many pooled connections as the concurrency, keeping no
    cookies (requests stay independent of each other)."""
    timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
    return RunClient(transport=PooledTransport(concurrency), timeout=timeout)


@dataclass(frozen=True)
class RunServices:
    """The seams a run needs, injected (tests pass fakes for clock and sleep)."""

    http: httpx.AsyncClient
    api_key: str | None
    clock: Clock
    sleep: Sleep
    observer: ResultObserver | None = None
    lag: LoopLag | None = None  # the run's loop-lag ticker; execute_run makes one when None
    names: OptionNames = FLAGS  # how a message names resuming (KEYWORDS from Python)

    @classmethod
    def real(
        cls, http: httpx.AsyncClient, api_key: str | None, observer: ResultObserver | None = None
    ) -> RunServices:
        """Real time and sleep."""
        return cls(http, api_key, MonotonicClock(), real_sleep, observer)


async def execute_run(
    experiment: Experiment,
    run_dir: RunDirectory,
    run_id: str,
    services: RunServices,
    planned: Sequence[PlannedRequest] | None = None,
    *,
    continuing: Continuation | None = None,
    sender: Sender | None = None,
) -> RunOutcome:
    """Send every planned request (default: the whole matrix, or what `continuing` has left)
    and record the run in `run_dir` (made by `create_run_directory`, or the run continued);
    RunFailed (after recording what finished) if something unexpected breaks it."""
    if planned is None:
        planned = continuing.todo if continuing else plan_requests(experiment)
    todo = list(planned)
    manifest = _opening_manifest(run_dir, len(todo), continuing)
    run_dir.write_manifest(manifest)
    stop = _Stop(resume=services.names.given("resume", str(run_dir.path)))
    stop.target = TargetWatch(experiment.target.base_url, stop.work)
    writer = RowWriter(run_dir, services.observer)
    prior = Prior(continuing.prior_attempts, continuing.turns) if continuing else Prior({}, {})
    schedulers = _schedulers(experiment, services)
    lag = services.lag or LoopLag()
    services = dataclasses.replace(services, lag=lag)
    with frozen_heap():
        async with anyio.create_task_group() as guard:
            guard.start_soon(_watch_signals, stop)
            guard.start_soon(lag.run)
            try:
                await _record(
                    experiment, run_id, services, todo, writer, stop, prior, schedulers, sender
                )
                if experiment.scorers and not stop.signals:
                    with stop.scoring:  # a signal stops the judges too; `score` can finish them
                        await _score_after(experiment, run_id, run_dir, services, schedulers)
                failure: Exception | None = None
            except Exception as exc:  # recorded in the manifest, then raised as RunFailed
                failure = exc
            telemetry = {m: s.telemetry() for m, s in schedulers.items()}
            manifest = dataclasses.replace(manifest, scheduler=telemetry)
            scrub = Redactor((services.api_key,)).scrub
            manifest = await _close(run_dir, manifest, writer, stop, failure, scrub)
            guard.cancel_scope.cancel()  # the watcher and the ticker never end by themselves
    if failure is not None:
        raise _run_failed(run_dir, failure, scrub) from failure
    if stop.unusable is not None:
        raise stop.unusable
    exit_code = stop.exit_code()
    return RunOutcome(run_dir.path, run_id, manifest.status, manifest.counts, exit_code)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep what exists before the run (imported modules, the experiment: about 80,000 objects
    after the CLI's imports) out of the garbage collector's full collections while it runs;
    walking them all stalled the event loop, and every attempt in flight with it, by tens of
    ms a few times per thousand requests. Unfrozen after, so a long-lived caller (a notebook)
    collects as before."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _run_failed(
    run_dir: RunDirectory, failure: Exception, scrub: Callable[[str], str]
) -> RunFailed:
    """The error a broken run raises, naming its first cause with the API key scrubbed."""
    error = RunFailed(run_dir.path, _first_leaf(failure))
    error.args = (scrub(str(error)),)  # the message is what main prints
    return error


def _opening_manifest(
    run_dir: RunDirectory, sending: int, continuing: Continuation | None
) -> Manifest:
    if continuing is None:
        return run_dir.read_manifest()
    return continuing.manifest.resumed(continuing.mode, utc_now(), sending)


async def _record(
    experiment: Experiment,
    run_id: str,
    services: RunServices,
    todo: list[PlannedRequest],
    writer: RowWriter,
    stop: _Stop,
    prior: Prior,
    schedulers: dict[str, Scheduler],
    sender: Sender | None,
) -> None:
    send, receive = anyio.create_memory_object_stream[Row](max_buffer_size=1024)
    async with anyio.create_task_group() as outer:
        outer.start_soon(writer.consume, receive)
        async with send:
            if sender is None:
                await _send_all(
                    experiment, run_id, services, todo, send, stop, prior, schedulers,
                    journal=writer.journal,
                )  # fmt: skip
                return
            with stop.work:
                await sender(todo, send, prior.attempts)


async def _score_after(
    experiment: Experiment,
    run_id: str,
    run_dir: RunDirectory,
    services: RunServices,
    schedulers: dict[str, Scheduler],
) -> None:
    """Score what the workers did not (batch results, earlier sessions), then run the judges."""
    context = RequestContext(
        run_id, _client(experiment, services), experiment.run.retry, services.clock,
        services.sleep, DroppedAttempts(),
    )  # fmt: skip
    await score_session(experiment, run_dir, judge_lane(experiment, context, schedulers))


def _client(experiment: Experiment, services: RunServices) -> MessagesClient:
    return MessagesClient(
        services.http,
        experiment.target,
        services.api_key,
        timeout_s=experiment.run.timeout_s,
        clock=services.clock,
        lag=services.lag,
    )


async def _close(
    run_dir: RunDirectory,
    manifest: Manifest,
    writer: RowWriter,
    stop: _Stop,
    failure: Exception | None,
    scrub: Callable[[str], str],
) -> Manifest:
    """Compact (not after a failure: the parts and the journal are kept for a resume) and
    write the manifest."""
    writer.journal.close()
    session = _counts(writer)
    if failure is not None:
        closed = manifest.finished(RunStatus.FAILED, utc_now(), manifest.counts, session)
        leaf = _first_leaf(failure)
        closed = dataclasses.replace(closed, failure=scrub(f"{type(leaf).__name__}: {leaf}"))
    elif stop.unusable is not None:
        run_dir.retire_journal()
        await anyio.to_thread.run_sync(run_dir.compact)
        counts = Counts(planned=manifest.counts.planned, **table_counts(run_dir.path))
        closed = manifest.finished(RunStatus.FAILED, utc_now(), counts, session)
        closed = dataclasses.replace(closed, failure=scrub(str(stop.unusable)))
    else:
        run_dir.retire_journal()  # the writer has flushed everything the journal holds
        await anyio.to_thread.run_sync(run_dir.compact)
        counts = Counts(planned=manifest.counts.planned, **table_counts(run_dir.path))
        status = RunStatus.INTERRUPTED if stop.signals else RunStatus.COMPLETE
        closed = manifest.finished(status, utc_now(), counts, session)
    run_dir.write_manifest(closed)
    return closed


async def _send_all(
    experiment: Experiment,
    run_id: str,
    services: RunServices,
    todo: list[PlannedRequest],
    rows: MemoryObjectSendStream[Row],
    stop: _Stop,
    prior: Prior,
    schedulers: dict[str, Scheduler],
    *,
    journal: Journal,
) -> None:
    client = _client(experiment, services)
    context = RequestContext(
        run_id,
        client,
        experiment.run.retry,
        services.clock,
        services.sleep,
        AttemptForwarder(rows, prior.attempts),
        stop.target or Unwatched(),
    )
    lane = Lane(experiment, context, schedulers, prior, LiveScoring.of(experiment), journal)
    with stop.work:
        async with anyio.create_task_group() as group:
            for model in experiment.models:
                mine = [p for p in todo if p.model == model]
                if mine:
                    start_model_lane(group, lane, mine, rows)


def _schedulers(experiment: Experiment, services: RunServices) -> dict[str, Scheduler]:
    """One scheduler per model, all under one run-wide cap on attempts in flight."""
    in_flight = anyio.CapacityLimiter(experiment.run.concurrency)
    return {
        model: Scheduler(
            experiment.run.rate_limits,
            experiment.run.concurrency,
            clock=services.clock,
            sleep=services.sleep,
            shared=in_flight,
            max_pause_s=experiment.run.retry.max_backoff_s,
        )
        for model in experiment.models
    }


@dataclass
class _Stop:
    """The work scope that signals cancel, and the signals received so far."""

    work: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    scoring: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    signals: list[int] = field(default_factory=list)
    target: TargetWatch | None = None
    resume: str = "--resume"  # how the caller continues the run

    @property
    def unusable(self) -> TargetUnusable | None:
        """Why the target watch stopped the run, if it did."""
        return self.target.verdict if self.target is not None else None

    def exit_code(self) -> int:
        """0, or the exit code of the first signal."""
        if not self.signals:
            return 0
        return _EXIT_BY_SIGNAL.get(signal.Signals(self.signals[0]), 130)


async def _watch_signals(stop: _Stop) -> None:
    """First SIGINT/SIGTERM: stop sending and let the writer finish. Second: exit at once."""
    if threading.current_thread() is not threading.main_thread():
        return
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
        async for signum in received:
            stop.signals.append(int(signum))
            if len(stop.signals) > 1:
                _force_exit(stop.exit_code(), stop.resume)
            stop.work.cancel()
            stop.scoring.cancel()


def _force_exit(code: int, resume: str) -> None:
    # Deliberately abrupt: parts already on disk are whole (atomic renames) and a resume
    # picks up from them; waiting for anything else is what the user asked us not to do.
    sys.stderr.write(
        "Stopped at once by a second signal; finished rows already written are kept "
        f"(continue with {resume}).\n"
    )
    sys.stderr.flush()
    os._exit(code)


def _first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _counts(writer: RowWriter) -> Counts:
    written = writer.counts
    return Counts(0, written["requests"], written["ok"], written["errors"], written["attempts"])
