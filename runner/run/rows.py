"""Building the two row types from what an attempt produced, for live and batch runs alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runner.clock import utc_now
from runner.http.client import AttemptOutcome
from runner.http.message import read_message
from runner.http.ratelimit import RateLimitSnapshot
from runner.plan.matrix import PlannedRequest
from runner.results.schema import (
    STATUS_ERROR,
    STATUS_OK,
    AttemptRow,
    ConversationColumns,
    MessageColumns,
    RateLimitColumns,
    ResultRow,
)
from runner.schedule.scheduler import Ticket


@dataclass(frozen=True, slots=True)
class Totals:
    """A request's totals over all its attempts."""

    attempts: int
    queue_ms: float
    backoff_ms: float
    started_at: datetime


def attempt_row(
    run_id: str,
    planned: PlannedRequest,
    attempt: int,
    outcome: AttemptOutcome,
    backoff_before_ms: float,
    ticket: Ticket | None,
) -> AttemptRow:
    """One attempt; `ticket` is the scheduler state it met (None for a batch result)."""
    error = outcome.error
    return AttemptRow(
        run_id=run_id,
        request_key=planned.key,
        attempt=attempt,
        case_id=planned.case.id,
        model=planned.model,
        arm=planned.arm.name,
        status=STATUS_OK if error is None else STATUS_ERROR,
        error_type=error.kind if error else None,
        api_error_type=error.info.api_error_type if error else None,
        http_status=outcome.http_status,
        error_message=str(error) if error else None,
        api_request_id=_request_id(outcome),
        sent_at=outcome.sent_at,
        queue_ms=ticket.queue_ms if ticket else 0.0,
        backoff_before_ms=backoff_before_ms,
        latency_ms=outcome.latency_ms,
        ttfb_ms=outcome.ttfb_ms,
        ttft_ms=outcome.ttft_ms,
        retry_after_s=outcome.limits.retry_after_s if outcome.limits else None,
        limits=_limit_columns(outcome.limits),
        sched_concurrency=ticket.concurrency if ticket else None,
        sched_in_flight=ticket.in_flight if ticket else None,
        sched_rpm=ticket.rpm if ticket else None,
        sched_paused_ms=ticket.paused_ms if ticket else None,
        client_lag_ms=outcome.client_lag_ms,
        connect_ms=outcome.connect_ms,
    )


def result_row(
    run_id: str,
    planned: PlannedRequest,
    outcome: AttemptOutcome,
    totals: Totals,
    batch_id: str | None = None,
) -> ResultRow:
    """The request's final outcome, from its last attempt and its totals."""
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
        attempts=totals.attempts,
        queue_ms=totals.queue_ms,
        backoff_ms=totals.backoff_ms,
        latency_ms=outcome.latency_ms,
        ttfb_ms=outcome.ttfb_ms,
        ttft_ms=outcome.ttft_ms,
        started_at=totals.started_at,
        finished_at=utc_now(),
        message=facts or MessageColumns.empty(),
        api_request_id=_request_id(outcome),
        batch_id=batch_id,
        conversation=_one_turn(outcome.message) if facts else ConversationColumns(),
        client_lag_ms=outcome.client_lag_ms,
        connect_ms=outcome.connect_ms,
    )


def _one_turn(message: dict[str, Any] | None) -> ConversationColumns:
    """A plain request as a conversation of one turn."""
    message = message or {}
    usage = message.get("usage") or {}
    calls = sum(1 for b in message.get("content") or [] if b.get("type") == "tool_use")
    inputs, outputs = usage.get("input_tokens"), usage.get("output_tokens")
    return ConversationColumns(
        turns=1,
        tool_calls=calls,
        turn_input_tokens=[inputs] if isinstance(inputs, int) else [],
        turn_output_tokens=[outputs] if isinstance(outputs, int) else [],
        last_turn_input_tokens=inputs if isinstance(inputs, int) else None,
    )


def _limit_columns(limits: RateLimitSnapshot | None) -> RateLimitColumns:
    if limits is None:
        return RateLimitColumns()
    requests, tokens = limits.bucket("requests"), limits.bucket("tokens")
    inputs, outputs = limits.bucket("input_tokens"), limits.bucket("output_tokens")
    return RateLimitColumns(
        rl_requests_limit=requests.limit,
        rl_requests_remaining=requests.remaining,
        rl_requests_reset=requests.reset,
        rl_tokens_limit=tokens.limit,
        rl_tokens_remaining=tokens.remaining,
        rl_tokens_reset=tokens.reset,
        rl_input_tokens_limit=inputs.limit,
        rl_input_tokens_remaining=inputs.remaining,
        rl_input_tokens_reset=inputs.reset,
        rl_output_tokens_limit=outputs.limit,
        rl_output_tokens_remaining=outputs.remaining,
        rl_output_tokens_reset=outputs.reset,
    )


def _request_id(outcome: AttemptOutcome) -> str | None:
    error = outcome.error
    return outcome.request_id or (error.info.request_id if error else None)
