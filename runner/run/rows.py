"""Building the two row types from what an attempt produced, for live and batch runs alike."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from runner.clock import utc_now
from runner.http.client import AttemptOutcome
from runner.http.message import MessageFacts, read_message
from runner.http.ratelimit import BUCKETS, RateLimitSnapshot
from runner.plan.matrix import PlannedRequest
from runner.results.schema import STATUS_ERROR, STATUS_OK, AttemptRow, ResultRow
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
        sched_concurrency=ticket.concurrency if ticket else None,
        sched_in_flight=ticket.in_flight if ticket else None,
        sched_rpm=ticket.rpm if ticket else None,
        sched_paused_ms=ticket.paused_ms if ticket else None,
        **_limit_columns(outcome.limits),  # type: ignore[arg-type]
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
        api_request_id=_request_id(outcome),
        batch_id=batch_id,
        **_message_columns(facts),  # type: ignore[arg-type]
    )


def _message_columns(facts: MessageFacts | None) -> dict[str, object]:
    if facts is None:
        empty: dict[str, object] = dict.fromkeys(_MESSAGE_COLUMNS)
        return {**empty, "content_types": [], "evidence": []}
    return {name: getattr(facts, name) for name in _MESSAGE_COLUMNS}


_MESSAGE_COLUMNS = tuple(f.name for f in dataclasses.fields(MessageFacts))


def _limit_columns(limits: RateLimitSnapshot | None) -> dict[str, int | str | None]:
    columns: dict[str, int | str | None] = {}
    for bucket in BUCKETS:
        reported = limits.bucket(bucket) if limits else None
        columns[f"rl_{bucket}_limit"] = reported.limit if reported else None
        columns[f"rl_{bucket}_remaining"] = reported.remaining if reported else None
        columns[f"rl_{bucket}_reset"] = reported.reset if reported else None
    return columns


def _request_id(outcome: AttemptOutcome) -> str | None:
    error = outcome.error
    return outcome.request_id or (error.info.request_id if error else None)
