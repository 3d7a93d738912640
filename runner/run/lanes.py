"""A run's lanes: per model, workers that carry each request to its result.

`start_model_lane` starts, in the caller's task group, one model's crew of workers, sharing
one iterator over its requests (each request is taken by exactly one worker, in plan order,
with no stream and no feeder task to hand it over). As many work as the concurrency, so a
request is taken only when a slot can carry it; one sleeping in a backoff starts a stand-in so
its slot does not stay idle (see `_Crew`; the schedulers' limiters bound what is in flight); a
model paced to a low rate occupies only its own workers. A worker performs one request at a
time (or a conversation, turn by turn), appends its result and attempt rows to the run's
journal before it takes the next request, then hands the result and its scores to the writer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import length_hint

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectSendStream

from runner.clock import Sleep
from runner.config.types import Experiment
from runner.plan.matrix import PlannedRequest, prepare
from runner.results.journal import Journal
from runner.results.schema import AttemptRow, ResultRow, TurnRow
from runner.results.writer import DurableTurn, Row
from runner.run.conversation import converse
from runner.run.execute import AttemptSink, RequestContext, perform
from runner.run.scoring import LiveScoring
from runner.schedule.scheduler import Scheduler
from runner.scoring.apply import needs_thread


def start_model_lane(
    group: anyio.abc.TaskGroup,
    lane: Lane,
    todo: list[PlannedRequest],
    rows: MemoryObjectSendStream[Row],
) -> None:
    """One model's workers: a model sleeping on its own budget keeps its own workers busy,
    never another model's."""
    concurrency = lane.experiment.run.concurrency
    most = 2 * concurrency + 8
    waits_outside = needs_thread(lane.scoring.scorers) or any(p.case.conversation for p in todo)
    crew = _Crew(group, lane, iter(todo), rows, most if waits_outside else concurrency, most)
    for _ in range(min(len(todo), crew.size)):
        crew.start()


@dataclass(frozen=True)
class Prior:
    """What earlier sessions of the run did: attempts per request key, and each unfinished
    conversation's finished turns."""

    attempts: Mapping[str, int]
    turns: Mapping[str, Sequence[TurnRow]]


@dataclass(frozen=True)
class Lane:
    """What every worker shares."""

    experiment: Experiment
    context: RequestContext
    schedulers: dict[str, Scheduler]
    prior: Prior
    scoring: LiveScoring
    journal: Journal


class _Crew:
    """A lane's workers and the one iterator they take its requests from (each request goes
    to the one worker that takes it next, in plan order).

    `size` (the configured concurrency) are at work, so that a request is taken only when the
    model's slots can carry it and no worker waits on the scheduler's limiter holding one
    (unless the scheduler lowered its concurrency, or other models hold the run-wide slots). A
    worker going to sleep in a backoff starts a stand-in (up to `most` workers in all), so the
    sleeper's slot does not stay idle; once it wakes, more than `size` may be at work until the
    next of them to finish a request retires. In a lane whose workers wait outside their slots
    in other ways (a conversation's tools and turns, a scorer in a thread) `size` is `most`:
    all start at once and the scheduler's limiter alone bounds what is in flight.
    """

    def __init__(
        self,
        group: anyio.abc.TaskGroup,
        lane: Lane,
        queue: Iterator[PlannedRequest],
        rows: MemoryObjectSendStream[Row],
        size: int,
        most: int,
    ) -> None:
        self._group, self._lane, self._rows = group, lane, rows
        self.queue, self.size, self.most = queue, size, most
        self.working = 0  # started, and not asleep in a backoff
        self.live = 0

    def start(self) -> None:
        """Start one more worker."""
        self.working += 1
        self.live += 1
        self._group.start_soon(_work, self._lane, self, self._rows.clone())

    def sleeping(self, sleep: Sleep) -> Sleep:
        """`sleep`, for a backoff: a stand-in starts while the worker sleeps, if need be."""

        async def backoff(seconds: float) -> None:
            self.working -= 1
            if self.working < self.size and self.live < self.most and length_hint(self.queue):
                self.start()
            try:
                await sleep(seconds)
            finally:
                self.working += 1

        return backoff

    def retiring(self) -> bool:
        """Whether the worker that just finished a request should end (too many at work)."""
        return self.working > self.size

    def ended(self) -> None:
        """One worker ended."""
        self.working -= 1
        self.live -= 1


async def _work(lane: Lane, crew: _Crew, rows: MemoryObjectSendStream[Row]) -> None:
    # One collector per worker, emptied per request (a worker carries one request at a time),
    # so no context is rebuilt per request.
    made = _Collected(lane.context.sink)
    context = dataclasses.replace(lane.context, sink=made, sleep=crew.sleeping(lane.context.sleep))
    try:
        async with rows:
            for planned in crew.queue:  # no checkpoint of its own: the request's slot is one
                made.rows = []
                scheduler = lane.schedulers[planned.model]
                if planned.case.conversation:
                    result = await _converse(lane, context, scheduler, planned, rows)
                else:  # awaited here, not in a helper: every resumption passes each frame
                    prepared, cost = prepare(lane.experiment, planned)
                    result = await perform(context, scheduler, planned, prepared, cost)
                await _record(lane, planned, result, made.rows, rows)
                if crew.retiring():
                    return
    finally:
        crew.ended()


async def _converse(
    lane: Lane,
    context: RequestContext,
    scheduler: Scheduler,
    planned: PlannedRequest,
    rows: MemoryObjectSendStream[Row],
) -> ResultRow:
    earlier = lane.prior.turns.get(planned.key, ())
    sink = _TurnForwarder(rows)
    return await converse(context, scheduler, lane.experiment, planned, sink, earlier)


async def _record(
    lane: Lane,
    planned: PlannedRequest,
    result: ResultRow,
    attempts: list[AttemptRow],
    rows: MemoryObjectSendStream[Row],
) -> None:
    """Count earlier sessions' attempts, append the result to the journal, then hand it and
    its scores to the writer."""
    result.attempts += lane.prior.attempts.get(planned.key, 0)
    lane.journal.append(result, attempts)  # durable before the next request starts
    await hand_over(rows, result)
    for score in await lane.scoring.rows(planned.case, result):
        await hand_over(rows, score)


async def hand_over(rows: MemoryObjectSendStream[Row], row: Row) -> None:
    """Give `row` to the writer, shielded (a finished request is never lost); at once, with
    no trip round the event loop, when the stream has room."""
    try:
        rows.send_nowait(row)
    except anyio.WouldBlock:
        with anyio.CancelScope(shield=True):
            await rows.send(row)


class AttemptForwarder:
    """Sends attempt rows to the writer's stream, numbered after earlier sessions' attempts."""

    def __init__(self, rows: MemoryObjectSendStream[Row], prior: Mapping[str, int]) -> None:
        self._rows = rows
        self._prior = prior

    async def attempt(self, row: AttemptRow) -> None:
        """Forward one attempt row."""
        row.attempt += self._prior.get(row.request_key, 0)
        await hand_over(self._rows, row)


class _Collected:
    """Forwards a worker's attempt rows and keeps the current request's for its journal
    record (`rows`, a fresh list per request)."""

    def __init__(self, sink: AttemptSink) -> None:
        self._sink = sink
        self.rows: list[AttemptRow] = []

    async def attempt(self, row: AttemptRow) -> None:
        """Forward one attempt row (numbered by the forwarder), and keep it."""
        await self._sink.attempt(row)
        self.rows.append(row)


class _TurnForwarder:
    """Sends a conversation's turn rows to the writer and waits until each is on disk."""

    def __init__(self, rows: MemoryObjectSendStream[Row]) -> None:
        self._rows = rows

    async def turn(self, row: TurnRow) -> None:
        """Forward one turn row; return once the writer has flushed it."""
        durable = DurableTurn(row)
        with anyio.CancelScope(shield=True):  # a finished turn is never lost
            await self._rows.send(durable)
        await durable.written.wait()
