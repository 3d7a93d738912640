"""Orchestration of one run: matrix -> workers under the schedulers -> one writer -> manifest.

One task group holds the writer; inside it a cancellable scope holds a feeder, the workers and
a signal watcher. SIGINT/SIGTERM cancel that scope only, so the writer still flushes what
finished and the manifest says "interrupted". Requests wait in a bounded memory stream; the
number of workers exceeds the concurrency so that requests sleeping in a backoff do not
leave slots idle (the schedulers' limiters bound what is actually in flight).
"""

from __future__ import annotations

import secrets
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from runner.client import MessagesClient
from runner.clock import Clock, MonotonicClock, Sleep, real_sleep, utc_now
from runner.config import Experiment
from runner.execute import RequestContext, perform
from runner.manifest import new_manifest
from runner.matrix import PlannedRequest, plan_requests, prepare
from runner.records import AttemptRow
from runner.scheduler import Scheduler
from runner.store import RunDirectory
from runner.transport import ShardedTransport
from runner.writer import ResultObserver, Row, RowWriter

_EXIT_BY_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}


@dataclass
class RunOutcome:
    """How a run ended: its directory, status, counts and the exit code it implies."""

    run_dir: Path
    run_id: str
    status: str
    counts: dict[str, int]
    exit_code: int


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus a random suffix."""
    return f"{utc_now():%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def http_client(concurrency: int, timeout_s: float) -> httpx.AsyncClient:
    """The run's one HTTP client: as many connections as the concurrency, in small pools."""
    timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
    return httpx.AsyncClient(transport=ShardedTransport(concurrency), timeout=timeout)


@dataclass(frozen=True)
class RunServices:
    """The seams a run needs, injected (tests pass fakes for clock and sleep)."""

    http: httpx.AsyncClient
    api_key: str | None
    clock: Clock
    sleep: Sleep
    observer: ResultObserver | None = None

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
) -> RunOutcome:
    """Send every planned request (default: the whole matrix) and record the run."""
    todo = list(planned) if planned is not None else plan_requests(experiment)
    manifest = new_manifest(experiment, run_id, utc_now(), len(todo))
    run_dir.write_manifest(manifest)
    writer = RowWriter(run_dir, services.observer)
    stopped_by: list[int] = []
    send, receive = anyio.create_memory_object_stream[Row](max_buffer_size=1024)
    async with anyio.create_task_group() as outer:
        outer.start_soon(writer.consume, receive)
        async with send:
            await _send_all(experiment, run_id, services, todo, send, stopped_by)
    status = "interrupted" if stopped_by else "complete"
    run_dir.compact()
    manifest.update(
        status=status,
        finished_at=utc_now().isoformat(),
        counts={"planned": len(todo), **_counts(writer)},
    )
    run_dir.write_manifest(manifest)
    exit_code = _EXIT_BY_SIGNAL.get(signal.Signals(stopped_by[0]), 130) if stopped_by else 0
    return RunOutcome(run_dir.path, run_id, status, manifest["counts"], exit_code)


async def _send_all(
    experiment: Experiment,
    run_id: str,
    services: RunServices,
    todo: list[PlannedRequest],
    rows: MemoryObjectSendStream[Row],
    stopped_by: list[int],
) -> None:
    client = MessagesClient(
        services.http,
        experiment.target,
        services.api_key,
        timeout_s=experiment.run.timeout_s,
        clock=services.clock,
    )
    context = RequestContext(
        run_id,
        client,
        experiment.run.retry,
        services.clock,
        services.sleep,
        _AttemptForwarder(rows),
    )
    in_flight = anyio.CapacityLimiter(experiment.run.concurrency)
    schedulers = {
        model: Scheduler(
            experiment.run.rate_limits,
            experiment.run.concurrency,
            clock=services.clock,
            sleep=services.sleep,
            shared=in_flight,
        )
        for model in experiment.models
    }
    queue_send, queue_receive = anyio.create_memory_object_stream[PlannedRequest](
        max_buffer_size=experiment.run.concurrency
    )
    workers = min(len(todo), 2 * experiment.run.concurrency + 8)
    with anyio.CancelScope() as work:
        async with anyio.create_task_group() as watching:
            watching.start_soon(_watch_signals, work, stopped_by)
            async with anyio.create_task_group() as group:
                group.start_soon(_feed, todo, queue_send)
                async with queue_receive:
                    for _ in range(workers):
                        group.start_soon(
                            _work,
                            experiment,
                            context,
                            schedulers,
                            queue_receive.clone(),
                            rows.clone(),
                        )
            watching.cancel_scope.cancel()  # the watcher never ends by itself


async def _feed(todo: list[PlannedRequest], queue: MemoryObjectSendStream[PlannedRequest]) -> None:
    async with queue:
        for planned in todo:
            await queue.send(planned)


async def _work(
    experiment: Experiment,
    context: RequestContext,
    schedulers: dict[str, Scheduler],
    queue: MemoryObjectReceiveStream[PlannedRequest],
    rows: MemoryObjectSendStream[Row],
) -> None:
    async with queue, rows:
        async for planned in queue:
            prepared, cost = prepare(experiment, planned)
            result = await perform(context, schedulers[planned.model], planned, prepared, cost)
            with anyio.CancelScope(shield=True):  # a finished request is never lost
                await rows.send(result)


async def _watch_signals(work: anyio.CancelScope, stopped_by: list[int]) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
        async for signum in received:
            stopped_by.append(int(signum))
            work.cancel()
            return


class _AttemptForwarder:
    """Sends attempt rows to the writer's stream."""

    def __init__(self, rows: MemoryObjectSendStream[Row]) -> None:
        self._rows = rows

    async def attempt(self, row: AttemptRow) -> None:
        with anyio.CancelScope(shield=True):
            await self._rows.send(row)


def _counts(writer: RowWriter) -> dict[str, int]:
    return {key: writer.counts.get(key, 0) for key in ("requests", "ok", "errors", "attempts")}
