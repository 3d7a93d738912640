"""Carrying one planned request to its final result: scheduler, attempts, retries, rows.

Each attempt takes a scheduler slot (released when the attempt ends), is sent once by the
client, and becomes an `AttemptRow`; the retry controller decides on another try. Whatever
happens, the request ends as exactly one `ResultRow`: failures are data, never exceptions.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from runner.client import AttemptOutcome, MessagesClient, PreparedRequest
from runner.clock import Clock, Sleep, utc_now
from runner.config import RetryPolicy
from runner.errors import RequestFailed
from runner.matrix import PlannedRequest
from runner.message import read_message
from runner.ratelimit import BUCKETS
from runner.records import STATUS_ERROR, STATUS_OK, AttemptRow, ResultRow
from runner.retry import build_retrying
from runner.scheduler import Cost, Scheduler, Ticket


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


@dataclass
class _Progress:
    attempts: int = 0
    queue_ms: float = 0.0
    backoff_ms: float = 0.0
    pending_backoff_ms: float = 0.0
    last: AttemptOutcome | None = None
    rows: list[AttemptRow] = field(default_factory=list)


async def perform(
    ctx: RequestContext,
    scheduler: Scheduler,
    planned: PlannedRequest,
    prepared: PreparedRequest,
    cost: Cost,
) -> ResultRow:
    """Send with retries until success or the policy gives up; return the one result row."""
    started_at = utc_now()
    state = _Progress()

    async def timed_sleep(seconds: float) -> None:
        before = ctx.clock.now()
        await ctx.sleep(seconds)
        slept = (ctx.clock.now() - before) * 1000.0
        state.backoff_ms += slept
        state.pending_backoff_ms += slept

    async def one_attempt() -> AttemptOutcome:
        outcome = await _attempt(ctx, scheduler, planned, prepared, cost, state)
        if outcome.error is not None:
            raise outcome.error
        return outcome

    with contextlib.suppress(RequestFailed):  # the failure is in state.last: a result row
        await build_retrying(ctx.retry, timed_sleep)(one_attempt)
    return _result_row(ctx.run_id, planned, state, started_at)


async def _attempt(
    ctx: RequestContext,
    scheduler: Scheduler,
    planned: PlannedRequest,
    prepared: PreparedRequest,
    cost: Cost,
    state: _Progress,
) -> AttemptOutcome:
    async with scheduler.slot(cost) as ticket:
        outcome = await ctx.client.send(prepared)
        output = _output_tokens(outcome)
        reported_at = None if outcome.ttfb_ms is None else ticket.taken_at + outcome.ttfb_ms / 1e3
        scheduler.settle(
            ticket, outcome.limits, output, _status_for_scheduler(outcome), reported_at
        )
    state.attempts += 1
    state.queue_ms += ticket.queue_ms
    state.last = outcome
    row = _attempt_row(ctx.run_id, planned, state, ticket, outcome)
    state.pending_backoff_ms = 0.0
    await ctx.sink.attempt(row)
    return outcome


def _status_for_scheduler(outcome: AttemptOutcome) -> int | None:
    if outcome.error is not None and outcome.error.kind == "overloaded":
        return 529  # an overloaded error event counts like a 529
    return outcome.http_status


def _output_tokens(outcome: AttemptOutcome) -> int | None:
    if outcome.message is None:
        return None
    usage = outcome.message.get("usage") or {}
    value = usage.get("output_tokens")
    return value if isinstance(value, int) else None


def _attempt_row(
    run_id: str, planned: PlannedRequest, state: _Progress, ticket: Ticket, outcome: AttemptOutcome
) -> AttemptRow:
    error = outcome.error
    limits: dict[str, int | str | None] = {}
    for bucket in BUCKETS:
        reported = outcome.limits.bucket(bucket) if outcome.limits else None
        limits[f"rl_{bucket}_limit"] = reported.limit if reported else None
        limits[f"rl_{bucket}_remaining"] = reported.remaining if reported else None
        limits[f"rl_{bucket}_reset"] = reported.reset if reported else None
    return AttemptRow(
        run_id=run_id,
        request_key=planned.key,
        attempt=state.attempts,
        case_id=planned.case.id,
        model=planned.model,
        arm=planned.arm.name,
        status=STATUS_OK if error is None else STATUS_ERROR,
        error_type=error.kind if error else None,
        api_error_type=error.info.api_error_type if error else None,
        http_status=outcome.http_status,
        error_message=str(error) if error else None,
        api_request_id=outcome.request_id or (error.info.request_id if error else None),
        sent_at=outcome.sent_at,
        queue_ms=ticket.queue_ms,
        backoff_before_ms=state.pending_backoff_ms,
        latency_ms=outcome.latency_ms,
        ttfb_ms=outcome.ttfb_ms,
        ttft_ms=outcome.ttft_ms,
        retry_after_s=outcome.limits.retry_after_s if outcome.limits else None,
        sched_concurrency=ticket.concurrency,
        sched_in_flight=ticket.in_flight,
        sched_rpm=ticket.rpm,
        sched_paused_ms=ticket.paused_ms,
        **limits,  # type: ignore[arg-type]
    )


def _result_row(
    run_id: str, planned: PlannedRequest, state: _Progress, started_at: datetime
) -> ResultRow:
    outcome = state.last
    assert outcome is not None  # at least one attempt always runs
    error = outcome.error
    facts = read_message(outcome.message) if outcome.message is not None and not error else None
    return ResultRow(
        run_id=run_id,
        request_key=planned.key,
        case_id=planned.case.id,
        model=planned.model,
        arm=planned.arm.name,
        betas=list(planned.arm.betas),
        repeat=planned.repeat,
        status=STATUS_OK if error is None else STATUS_ERROR,
        error_type=error.kind if error else None,
        api_error_type=error.info.api_error_type if error else None,
        http_status=outcome.http_status,
        error_message=str(error) if error else None,
        attempts=state.attempts,
        queue_ms=state.queue_ms,
        backoff_ms=state.backoff_ms,
        latency_ms=outcome.latency_ms,
        ttfb_ms=outcome.ttfb_ms,
        ttft_ms=outcome.ttft_ms,
        started_at=started_at,
        finished_at=utc_now(),
        text=facts.text if facts else None,
        stop_reason=facts.stop_reason if facts else None,
        input_tokens=facts.input_tokens if facts else None,
        output_tokens=facts.output_tokens if facts else None,
        cache_creation_input_tokens=facts.cache_creation_input_tokens if facts else None,
        cache_read_input_tokens=facts.cache_read_input_tokens if facts else None,
        thinking_tokens=facts.thinking_tokens if facts else None,
        content_types=facts.content_types if facts else [],
        content_json=facts.content_json if facts else None,
        usage_json=facts.usage_json if facts else None,
        evidence=facts.evidence if facts else [],
        api_request_id=outcome.request_id or (error.info.request_id if error else None),
    )
