"""Orchestration of one run: matrix -> workers under the schedulers -> one writer -> manifest.

A guard task group holds a signal watcher (`runner.run.stop`) and the loop-lag ticker
(`client_lag_ms`) for the whole run, with what existed before it frozen out of the garbage
collector (`runner.run.heap`); inside it one task group holds the writer, and a cancellable
scope holds a feeder and the workers (`runner.run.sending`). A first SIGINT/SIGTERM cancels
that scope only (in-flight attempts are cancelled), so the writer still flushes what finished,
the run is compacted and the manifest says "interrupted"; a second signal exits at once. An
unexpected error leaves the parts as they are, marks the manifest "failed" and becomes
`RunFailed` (`runner.run.closing`). Each model has its own lane of workers (`runner.run.lanes`).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio

from runner.clock import utc_now
from runner.config.types import Experiment
from runner.http.lag import LoopLag
from runner.plan.matrix import PlannedRequest, plan_requests
from runner.redact import Redactor
from runner.results.manifest import Counts, Manifest, RunStatus, new_manifest
from runner.results.store import RunDirectory
from runner.results.writer import RowWriter
from runner.run.closing import close, run_failed
from runner.run.heap import frozen_heap
from runner.run.lanes import Prior
from runner.run.pacing import Pacing
from runner.run.resume import Continuation
from runner.run.sending import SessionParts, record, score_after
from runner.run.services import RunServices, Sender
from runner.run.stop import Stop, watch_signals
from runner.run.target import TargetWatch

# The names scripts and tests start a run with.
__all__ = [
    "RunOutcome",
    "RunServices",
    "Sender",
    "create_run_directory",
    "execute_run",
    "new_run_id",
]


@dataclass
class RunOutcome:
    """How a run ended: its directory, status, counts and the exit code it implies."""

    run_dir: Path
    run_id: str
    status: RunStatus
    counts: Counts
    exit_code: int


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
    session = _wire(experiment, run_dir, run_id, services, continuing)
    with frozen_heap():
        manifest, failure = await _guarded(session, run_dir, manifest, todo, sender)
    return _outcome(session, run_dir, manifest, failure)


def _opening_manifest(
    run_dir: RunDirectory, sending: int, continuing: Continuation | None
) -> Manifest:
    if continuing is None:
        return run_dir.read_manifest()
    return continuing.manifest.resumed(continuing.mode, utc_now(), sending)


def _wire(
    experiment: Experiment,
    run_dir: RunDirectory,
    run_id: str,
    services: RunServices,
    continuing: Continuation | None,
) -> SessionParts:
    """The session's parts: its stop (signals and the target watch), writer, prior attempts,
    schedulers and loop-lag ticker (made here unless `services` brings one)."""
    stop = Stop(resume=services.names.given("resume", str(run_dir.path)))
    stop.target = TargetWatch(experiment.target.base_url, stop.work)
    writer = RowWriter(run_dir, services.observer)
    prior = Prior(continuing.prior_attempts, continuing.turns) if continuing else Prior({}, {})
    pacing = Pacing.of(experiment, services.clock, services.sleep)
    paced = pacing.schedulers(experiment.models)
    lag = services.lag or LoopLag()
    services = dataclasses.replace(services, lag=lag)
    scrub = Redactor((services.api_key,)).scrub
    return SessionParts(
        experiment, run_id, services, writer, stop, prior, pacing, paced, lag, scrub
    )


async def _guarded(
    session: SessionParts,
    run_dir: RunDirectory,
    manifest: Manifest,
    todo: list[PlannedRequest],
    sender: Sender | None,
) -> tuple[Manifest, Exception | None]:
    """Send, score and close the session under the signal watcher and the loop-lag ticker;
    the closing manifest and the unexpected error that broke the session, if one did."""
    async with anyio.create_task_group() as guard:
        guard.start_soon(watch_signals, session.stop)
        guard.start_soon(session.lag.run)
        failure = await _send_and_score(session, run_dir, todo, sender)
        telemetry = {m: s.telemetry() for m, s in session.schedulers.items()}
        manifest = dataclasses.replace(manifest, scheduler=telemetry)
        manifest = await close(session, run_dir, manifest, failure)
        guard.cancel_scope.cancel()  # the watcher and the ticker never end by themselves
    return manifest, failure


async def _send_and_score(
    session: SessionParts, run_dir: RunDirectory, todo: list[PlannedRequest], sender: Sender | None
) -> Exception | None:
    """Record the session, then (unless a signal came) score it; an unexpected error is
    returned, to be recorded in the manifest and raised as RunFailed."""
    try:
        await record(session, todo, sender)
        if session.experiment.scorers and not session.stop.signals:
            with session.stop.scoring:  # a signal stops the judges too; `score` can finish them
                await score_after(session, run_dir)
    except Exception as exc:
        return exc
    return None


def _outcome(
    session: SessionParts, run_dir: RunDirectory, manifest: Manifest, failure: Exception | None
) -> RunOutcome:
    if failure is not None:
        raise run_failed(run_dir, failure, session.scrub) from failure
    if session.stop.unusable is not None:
        raise session.stop.unusable
    code = session.stop.exit_code()
    return RunOutcome(run_dir.path, session.run_id, manifest.status, manifest.counts, code)
