"""The results contract: row types, their column names and their polars schemas, in one place.

`ResultRow` is one request's final outcome (`results.parquet`); `AttemptRow` is one HTTP try
(`attempts.parquet`); `ScoreRow` is one scorer's score of one result (`scores.parquet`);
`JudgeRequestRow` is one request to a judge model (`judge_requests.parquet`): a result row of
its own with what it judged, kept apart from the arms' so judges never mix into their latency
or cost; `TurnRow` is one turn of a conversation case (`turns.parquet`): one request to the
model and the reply, with the attempts it took. A row dataclass is the declaration of its
table: its fields, in order, are
the columns, and each field's type gives the polars dtype (`str` -> String, `int` -> Int64,
`Int32` -> Int32, `float` -> Float64, `bool` -> Boolean, `datetime` -> UTC microseconds,
`list[X]` -> List, `X | None` -> the same, nullable). A field whose type is itself a row-part
dataclass (`MessageColumns`, `RateLimitColumns`) contributes that part's columns in its place,
so the code that produces a part (reading a message, reading rate-limit headers) builds a typed
object instead of a dict splatted into the row.

The name tables `R`, `A`, `S` and `J` (`R.latency_ms == "latency_ms"`) are what the rest of the
code uses to name a column; they are plain classes of `Final` strings, so mypy rejects
`R.latncy_ms` (a name table may extend another's: `J(R)` lists a result row's names first).
`register()` (`runner.results.contract`) derives a table's schema from its row type and checks,
at import, that its name table lists exactly the row's columns in order (it fails naming the
difference).

Adding a column: add the field to its row dataclass (or row part) and the same name to its name
table; bump `SCHEMA_VERSION`. Adding a table: a row dataclass, a name table, and
`X_SCHEMA = register(XRow, X).schema`; the writer's `rows_to_frame` then handles its rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Final

# Re-exported: writers and readers build frames through the schema module.
from runner.results.contract import Int32, register
from runner.results.contract import row_values as row_values
from runner.results.contract import rows_to_frame as rows_to_frame

SCHEMA_VERSION = 4

STATUS_OK = "ok"
STATUS_ERROR = "error"


@dataclass(slots=True)
class MessageColumns:
    """The recorded parts of one successful response (all empty for a failed request)."""

    text: str | None
    stop_reason: str | None
    input_tokens: int | None
    output_tokens: int | None
    cache_creation_input_tokens: int | None
    cache_read_input_tokens: int | None
    thinking_tokens: int | None
    content_types: list[str]
    content_json: str | None
    usage_json: str | None
    evidence: list[str]

    @classmethod
    def empty(cls) -> MessageColumns:
        """The message columns of a request that got no message."""
        return cls(None, None, None, None, None, None, None, [], None, None, [])


@dataclass(slots=True)
class ConversationColumns:
    """A request's turns summarised: a plain request is one turn; a conversation case has one
    per request it sent (its `input_tokens`, `output_tokens` and cache columns are the sums)."""

    turns: Int32 | None = None
    tool_calls: Int32 | None = None
    turn_input_tokens: list[int] = dataclasses.field(default_factory=list)
    turn_output_tokens: list[int] = dataclasses.field(default_factory=list)
    last_turn_input_tokens: int | None = None


@dataclass(slots=True)
class ResultRow:
    """The final outcome of one request (ok or error)."""

    run_id: str
    request_key: str
    case_id: str
    model: str
    arm: str
    betas: list[str]
    repeat: Int32
    status: str
    error_type: str | None
    api_error_type: str | None
    http_status: Int32 | None
    error_message: str | None
    attempts: Int32
    queue_ms: float
    backoff_ms: float
    latency_ms: float | None
    ttfb_ms: float | None
    ttft_ms: float | None
    started_at: datetime
    finished_at: datetime
    message: MessageColumns
    api_request_id: str | None
    batch_id: str | None = None
    conversation: ConversationColumns = dataclasses.field(default_factory=ConversationColumns)
    client_lag_ms: float | None = None  # the final attempt's (see AttemptRow)
    connect_ms: float | None = None  # the final attempt's (see AttemptRow)


@dataclass(slots=True)
class TurnRow:
    """One turn of a conversation: the request sent, the reply, and what followed it.

    `content_json` is the reply's content as received (sent back unchanged as the assistant
    message) and `next_json` the user message sent after it (tool results or the next scripted
    turn; `{}` when the server paused the turn, `pause_turn` or `compaction`, and the next
    request continued it with nothing added; null when the conversation ended there), so a
    resume can rebuild the conversation.
    `input_tokens` counts what the API billed (after any context edits); `cleared_input_tokens`
    what its `context_management.applied_edits` say they cleared.
    """

    run_id: str
    request_key: str
    turn: Int32
    case_id: str
    model: str
    arm: str
    status: str
    error_type: str | None
    attempts: Int32
    sent_at: datetime
    latency_ms: float | None
    ttft_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    cache_creation_input_tokens: int | None
    cache_read_input_tokens: int | None
    stop_reason: str | None
    tool_names: list[str]
    tool_inputs: list[str]
    tool_errors: Int32
    context_edits: list[str]
    cleared_input_tokens: int | None
    content_json: str | None
    usage_json: str | None
    context_management_json: str | None
    next_json: str | None


@dataclass(slots=True)
class RateLimitColumns:
    """Every `anthropic-ratelimit-*` header an attempt's response carried (None: not sent)."""

    rl_requests_limit: int | None = None
    rl_requests_remaining: int | None = None
    rl_requests_reset: str | None = None
    rl_tokens_limit: int | None = None
    rl_tokens_remaining: int | None = None
    rl_tokens_reset: str | None = None
    rl_input_tokens_limit: int | None = None
    rl_input_tokens_remaining: int | None = None
    rl_input_tokens_reset: str | None = None
    rl_output_tokens_limit: int | None = None
    rl_output_tokens_remaining: int | None = None
    rl_output_tokens_reset: str | None = None


@dataclass(slots=True)
class AttemptRow:
    """One HTTP attempt of one request, with the rate-limit headers and scheduler state seen."""

    run_id: str
    request_key: str
    attempt: Int32
    case_id: str
    model: str
    arm: str
    status: str
    error_type: str | None
    api_error_type: str | None
    http_status: Int32 | None
    error_message: str | None
    api_request_id: str | None
    sent_at: datetime
    queue_ms: float
    backoff_before_ms: float
    latency_ms: float | None
    ttfb_ms: float | None
    ttft_ms: float | None
    retry_after_s: float | None
    limits: RateLimitColumns
    sched_concurrency: Int32 | None
    sched_in_flight: Int32 | None
    sched_rpm: float | None
    sched_paused_ms: float | None
    # How much of its latency the client itself may have added (ms): its event loop's largest
    # lag in flight (runner.http.lag) or, if longer, its wait from the answer's last bytes
    # reaching the kernel to the clock's stop (TCP_INFO, where known; at most the latency).
    # None: not measured.
    client_lag_ms: float | None = None
    # How long of its latency the request waited for a connection: a free one from the pool,
    # or a new one opened (TCP, TLS). None: no connection was had, or not measured.
    connect_ms: float | None = None


class R:
    """Column names of `results.parquet` (the fields of `ResultRow`, parts flattened)."""

    run_id: Final = "run_id"
    request_key: Final = "request_key"
    case_id: Final = "case_id"
    model: Final = "model"
    arm: Final = "arm"
    betas: Final = "betas"
    repeat: Final = "repeat"
    status: Final = "status"
    error_type: Final = "error_type"
    api_error_type: Final = "api_error_type"
    http_status: Final = "http_status"
    error_message: Final = "error_message"
    attempts: Final = "attempts"
    queue_ms: Final = "queue_ms"
    backoff_ms: Final = "backoff_ms"
    latency_ms: Final = "latency_ms"
    ttfb_ms: Final = "ttfb_ms"
    ttft_ms: Final = "ttft_ms"
    started_at: Final = "started_at"
    finished_at: Final = "finished_at"
    text: Final = "text"
    stop_reason: Final = "stop_reason"
    input_tokens: Final = "input_tokens"
    output_tokens: Final = "output_tokens"
    cache_creation_input_tokens: Final = "cache_creation_input_tokens"
    cache_read_input_tokens: Final = "cache_read_input_tokens"
    thinking_tokens: Final = "thinking_tokens"
    content_types: Final = "content_types"
    content_json: Final = "content_json"
    usage_json: Final = "usage_json"
    evidence: Final = "evidence"
    api_request_id: Final = "api_request_id"
    batch_id: Final = "batch_id"
    turns: Final = "turns"
    tool_calls: Final = "tool_calls"
    turn_input_tokens: Final = "turn_input_tokens"
    turn_output_tokens: Final = "turn_output_tokens"
    last_turn_input_tokens: Final = "last_turn_input_tokens"
    client_lag_ms: Final = "client_lag_ms"
    connect_ms: Final = "connect_ms"


class T:
    """Column names of `turns.parquet` (the fields of `TurnRow`)."""

    run_id: Final = "run_id"
    request_key: Final = "request_key"
    turn: Final = "turn"
    case_id: Final = "case_id"
    model: Final = "model"
    arm: Final = "arm"
    status: Final = "status"
    error_type: Final = "error_type"
    attempts: Final = "attempts"
    sent_at: Final = "sent_at"
    latency_ms: Final = "latency_ms"
    ttft_ms: Final = "ttft_ms"
    input_tokens: Final = "input_tokens"
    output_tokens: Final = "output_tokens"
    cache_creation_input_tokens: Final = "cache_creation_input_tokens"
    cache_read_input_tokens: Final = "cache_read_input_tokens"
    stop_reason: Final = "stop_reason"
    tool_names: Final = "tool_names"
    tool_inputs: Final = "tool_inputs"
    tool_errors: Final = "tool_errors"
    context_edits: Final = "context_edits"
    cleared_input_tokens: Final = "cleared_input_tokens"
    content_json: Final = "content_json"
    usage_json: Final = "usage_json"
    context_management_json: Final = "context_management_json"
    next_json: Final = "next_json"


class A:
    """Column names of `attempts.parquet` (the fields of `AttemptRow`, parts flattened)."""

    run_id: Final = "run_id"
    request_key: Final = "request_key"
    attempt: Final = "attempt"
    case_id: Final = "case_id"
    model: Final = "model"
    arm: Final = "arm"
    status: Final = "status"
    error_type: Final = "error_type"
    api_error_type: Final = "api_error_type"
    http_status: Final = "http_status"
    error_message: Final = "error_message"
    api_request_id: Final = "api_request_id"
    sent_at: Final = "sent_at"
    queue_ms: Final = "queue_ms"
    backoff_before_ms: Final = "backoff_before_ms"
    latency_ms: Final = "latency_ms"
    ttfb_ms: Final = "ttfb_ms"
    ttft_ms: Final = "ttft_ms"
    retry_after_s: Final = "retry_after_s"
    rl_requests_limit: Final = "rl_requests_limit"
    rl_requests_remaining: Final = "rl_requests_remaining"
    rl_requests_reset: Final = "rl_requests_reset"
    rl_tokens_limit: Final = "rl_tokens_limit"
    rl_tokens_remaining: Final = "rl_tokens_remaining"
    rl_tokens_reset: Final = "rl_tokens_reset"
    rl_input_tokens_limit: Final = "rl_input_tokens_limit"
    rl_input_tokens_remaining: Final = "rl_input_tokens_remaining"
    rl_input_tokens_reset: Final = "rl_input_tokens_reset"
    rl_output_tokens_limit: Final = "rl_output_tokens_limit"
    rl_output_tokens_remaining: Final = "rl_output_tokens_remaining"
    rl_output_tokens_reset: Final = "rl_output_tokens_reset"
    sched_concurrency: Final = "sched_concurrency"
    sched_in_flight: Final = "sched_in_flight"
    sched_rpm: Final = "sched_rpm"
    sched_paused_ms: Final = "sched_paused_ms"
    client_lag_ms: Final = "client_lag_ms"
    connect_ms: Final = "connect_ms"


@dataclass(slots=True)
class ScoreRow:
    """One scorer's score of one ok result: a value, pass/fail where it has one, or an error.

    `fingerprint` identifies the scorer's settings the score was made with.
    """

    request_key: str
    scorer: str
    fingerprint: str
    value: float | None
    passed: bool | None
    explanation: str | None
    error: str | None


class S:
    """Column names of `scores.parquet` (the fields of `ScoreRow`)."""

    request_key: Final = "request_key"
    scorer: Final = "scorer"
    fingerprint: Final = "fingerprint"
    value: Final = "value"
    passed: Final = "passed"
    explanation: Final = "explanation"
    error: Final = "error"


@dataclass(slots=True)
class JudgeRequestRow:
    """A request to a judge model: its own result row (its `arm` is the scorer's name, its
    `model` the judge's), then the request it judged and, for a pairwise judge, the baseline's
    request and which answer was shown first (`arm_first` or `baseline_first`)."""

    request: ResultRow
    judged_key: str
    baseline_key: str | None
    order: str | None


class J(R):
    """Column names of `judge_requests.parquet`: a result row's, then what it judged."""

    judged_key: Final = "judged_key"
    baseline_key: Final = "baseline_key"
    order: Final = "order"


RESULTS_SCHEMA = register(ResultRow, R).schema
ATTEMPTS_SCHEMA = register(AttemptRow, A).schema
SCORES_SCHEMA = register(ScoreRow, S).schema
JUDGE_REQUESTS_SCHEMA = register(JudgeRequestRow, J).schema
TURNS_SCHEMA = register(TurnRow, T).schema
