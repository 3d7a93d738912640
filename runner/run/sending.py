"""How one session's requests are sent and recorded.

One task group holds the writer (`RowWriter.consume`) reading a memory object stream; the
requests are sent into that stream either by one lane of workers per model under that model's
scheduler (`runner.run.lanes`), or by another `Sender` (Message Batches). All the schedulers
are made by one `Pacing` (`runner.run.pacing`) and share its run-wide cap on attempts in
flight. Closing the stream's send side ends the writer once everything sent has been written.
Scoring after the sending (`score_after`) reuses the scheduler of each judge model the run also
sends to, and `runner.run.scoring.judge_lane` has the same `Pacing` make one for any other, so
every judge's requests are paced, capped and paused like the arms'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from runner.config.types import Experiment
from runner.http.lag import LoopLag
from runner.plan.matrix import PlannedRequest
from runner.results.store import RunDirectory
from runner.results.writer import Row, RowWriter
from runner.run.execute import RequestContext, Unwatched
from runner.run.lanes import AttemptForwarder, Lane, Prior, start_model_lane
from runner.run.pacing import Pacing
from runner.run.scoring import DroppedAttempts, LiveScoring, judge_lane, score_session
from runner.run.services import RunServices, Sender, messages_client
from runner.run.stop import Stop
from runner.schedule.scheduler import Scheduler


@dataclass(frozen=True)
class SessionParts:
    """What one session's sending needs, wired once when the run starts."""

    experiment: Experiment
    run_id: str
    services: RunServices
    writer: RowWriter
    stop: Stop
    prior: Prior
    pacing: Pacing  # makes every scheduler of the run: the arms' below, and other judges'
    schedulers: dict[str, Scheduler]  # one per model of the experiment
    lag: LoopLag  # the ticker behind `client_lag_ms`, also in `services`
    scrub: Callable[[str], str]  # removes the API key from text bound for a file or stderr


async def record(session: SessionParts, todo: list[PlannedRequest], sender: Sender | None) -> None:
    """Send `todo` (through the model lanes, or `sender` when given) and write every row."""
    send, receive = anyio.create_memory_object_stream[Row](max_buffer_size=1024)
    async with anyio.create_task_group() as outer:
        outer.start_soon(session.writer.consume, receive)
        async with send:
            if sender is None:
                await _send_all(session, todo, send)
                return
            with session.stop.work:
                await sender(todo, send, session.prior.attempts)


async def score_after(session: SessionParts, run_dir: RunDirectory) -> None:
    """Score what the workers did not (batch results, earlier sessions), then run the judges."""
    experiment, services = session.experiment, session.services
    client = messages_client(experiment, services)
    context = RequestContext(
        session.run_id, client, experiment.run.retry, services.clock, services.sleep,
        DroppedAttempts(),
    )  # fmt: skip
    lane = judge_lane(experiment, context, session.pacing, session.schedulers)
    await score_session(experiment, run_dir, lane)


async def _send_all(
    session: SessionParts, todo: list[PlannedRequest], rows: MemoryObjectSendStream[Row]
) -> None:
    experiment, services, stop = session.experiment, session.services, session.stop
    context = RequestContext(
        session.run_id,
        messages_client(experiment, services),
        experiment.run.retry,
        services.clock,
        services.sleep,
        AttemptForwarder(rows, session.prior.attempts),
        stop.target or Unwatched(),
    )
    lane = Lane(
        experiment, context, session.schedulers, session.prior, LiveScoring.of(experiment),
        session.writer.journal,
    )  # fmt: skip
    with stop.work:
        async with anyio.create_task_group() as group:
            for model in experiment.models:
                mine = [p for p in todo if p.model == model]
                if mine:
                    start_model_lane(group, lane, mine, rows)
