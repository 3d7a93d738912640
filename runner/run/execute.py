"""Carrying one planned request to its final result: scheduler, attempts, retries, rows.

Each attempt takes a scheduler slot, is sent once by the client, and becomes an `AttemptRow`
handed to the sink before the slot is released (so between a request's last attempt and its
journal record nothing waits, and no other request is sent in between); the retry controller
decides on another try, sleeping its backoff without a slot. Whatever
happens, the request ends as exactly one `ResultRow`: failures are data, never exceptions.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from typing import Protocol

from runner.clock import Clock, Sleep, utc_now
from runner.config.types import RetryPolicy
from runner.errors import Load, RequestFailed
from runner.http.client import AttemptOutcome, MessagesClient, PreparedRequest
from runner.http.retry import checked_hint, retried
from runner.plan.matrix import PlannedRequest
from runner.results.schema import AttemptRow, ResultRow
from runner.run.rows import Totals, attempt_row, result_row
from runner.schedule.scheduler import Cost, Scheduler


class AttemptWatch(Protocol):
    """Sees every finished attempt (the run's `TargetWatch`)."""

    def attempt(self, outcome: AttemptOutcome) -> None:
        """Account for one attempt."""
        ...


class Unwatched:
    """No watch on the attempts (judges, scoring passes)."""

    def attempt(self, outcome: AttemptOutcome) -> None:
        """Ignore it."""


class AttemptSink(Protocol):
    """Receives attempt rows as they happen."""

    async def attempt(self, row: AttemptRow) -> None:
        """Record one attempt."""
        ...


@dataclass(frozen=True)
class RequestContext:
    """What every request of a run shares."""

    run_id: str
    client: MessagesClient
    retry: RetryPolicy
    clock: Clock
    sleep: Sleep
    sink: AttemptSink
    watch: AttemptWatch = field(default_factory=Unwatched)


@dataclass
class _Progress:
    attempts: int = 0
    queue_ms: float = 0.0
    backoff_ms: float = 0.0
    pending_backoff_ms: float = 0.0
    last: AttemptOutcome | None = None
    numbered_after: int = 0
    started: float = 0.0  # when the first attempt began (clock seconds)


@dataclass(frozen=True)
class Sent:
    """What one attempt sequence ended with: the last attempt's outcome and the totals."""

    outcome: AttemptOutcome
    totals: Totals


async def perform(
    ctx: RequestContext,
    scheduler: Scheduler,
    planned: PlannedRequest,
    prepared: PreparedRequest,
    cost: Cost,
) -> ResultRow:
    """Send with retries until success or the policy gives up; return the one result row."""
    sent = await send_with_retries(ctx, scheduler, planned, prepared, cost)
    return result_row(ctx.run_id, planned, sent.outcome, sent.totals)


async def send_with_retries(
    ctx: RequestContext,
    scheduler: Scheduler,
    planned: PlannedRequest,
    prepared: PreparedRequest,
    cost: Cost,
    *,
    numbered_after: int = 0,
) -> Sent:
    """One attempt sequence: send until success or the policy gives up. Attempt rows are
    numbered after `numbered_after` (the attempts of a conversation's earlier turns)."""
    started_at = utc_now()
    state = _Progress(numbered_after=numbered_after, started=ctx.clock.now())

    async def timed_sleep(seconds: float) -> None:
        before = ctx.clock.now()
        await ctx.sleep(seconds)
        slept = (ctx.clock.now() - before) * 1000.0
        state.backoff_ms += slept
        state.pending_backoff_ms += slept

    attempt = functools.partial(_attempt, ctx, scheduler, planned, prepared, cost, state)
    with contextlib.suppress(RequestFailed):  # the failure is in state.last: a result row
        await retried(ctx.retry, timed_sleep, attempt)
    assert state.last is not None  # at least one attempt always runs
    return Sent(state.last, Totals(state.attempts, state.queue_ms, state.backoff_ms, started_at))


async def _attempt(
    ctx: RequestContext,
    scheduler: Scheduler,
    planned: PlannedRequest,
    prepared: PreparedRequest,
    cost: Cost,
    state: _Progress,
) -> AttemptOutcome:
    """One attempt, its row handed on while its slot is held; its failure raised for the
    retry controller (a GaveUp when its retry hint asks for more than the policy allows)."""
    async with scheduler.slot(cost) as ticket:

        def headers_seen(partial: AttemptOutcome) -> None:
            scheduler.learn(ticket, partial.limits, ctx.clock.now())

        outcome = await ctx.client.send(prepared, headers_seen)
        load = outcome.error.classification.load if outcome.error else Load.NORMAL
        scheduler.settle(ticket, outcome.limits, _output_tokens(outcome), load)
        ctx.watch.attempt(outcome)
        state.attempts += 1
        state.queue_ms += ticket.queue_ms
        state.last = outcome
        number = state.numbered_after + state.attempts
        row = attempt_row(ctx.run_id, planned, number, outcome, state.pending_backoff_ms, ticket)
        state.pending_backoff_ms = 0.0
        # Still holding the slot: from here to the request's journal record nothing waits, so
        # no other request is sent before a finished one is durable.
        await ctx.sink.attempt(row)
    if outcome.error is not None:
        elapsed = ctx.clock.now() - state.started
        outcome.error = checked_hint(ctx.retry, outcome.error, elapsed)
        raise outcome.error
    return outcome


def _output_tokens(outcome: AttemptOutcome) -> int | None:
    if outcome.message is None:
        return None
    usage = outcome.message.get("usage") or {}
    value = usage.get("output_tokens")
    return value if isinstance(value, int) else None
