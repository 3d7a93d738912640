"""The results contract: row types and their polars schemas, shared by writer and reader.

`ResultRow` is one request's final outcome (`results.parquet`); `AttemptRow` is one HTTP try
(`attempts.parquet`). Column names are the dataclass field names; analysis code refers to them
through the `R` and `A` name tables so that no column is spelled as a bare string elsewhere.
Changing a column bumps `SCHEMA_VERSION`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import polars as pl

SCHEMA_VERSION = 1

_UTC_TS = pl.Datetime("us", "UTC")


@dataclass(slots=True)
class ResultRow:
    """The final outcome of one request (ok or error)."""

    run_id: str
    request_key: str
    case_id: str
    model: str
    arm: str
    betas: list[str]
    repeat: int
    status: str
    error_type: str | None
    api_error_type: str | None
    http_status: int | None
    error_message: str | None
    attempts: int
    queue_ms: float
    backoff_ms: float
    latency_ms: float | None
    ttfb_ms: float | None
    ttft_ms: float | None
    started_at: datetime
    finished_at: datetime
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
    api_request_id: str | None
    batch_id: str | None = None


_RESULT_COLUMNS: dict[str, Any] = {
    "run_id": pl.String,
    "request_key": pl.String,
    "case_id": pl.String,
    "model": pl.String,
    "arm": pl.String,
    "betas": pl.List(pl.String),
    "repeat": pl.Int32,
    "status": pl.String,
    "error_type": pl.String,
    "api_error_type": pl.String,
    "http_status": pl.Int32,
    "error_message": pl.String,
    "attempts": pl.Int32,
    "queue_ms": pl.Float64,
    "backoff_ms": pl.Float64,
    "latency_ms": pl.Float64,
    "ttfb_ms": pl.Float64,
    "ttft_ms": pl.Float64,
    "started_at": _UTC_TS,
    "finished_at": _UTC_TS,
    "text": pl.String,
    "stop_reason": pl.String,
    "input_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "cache_creation_input_tokens": pl.Int64,
    "cache_read_input_tokens": pl.Int64,
    "thinking_tokens": pl.Int64,
    "content_types": pl.List(pl.String),
    "content_json": pl.String,
    "usage_json": pl.String,
    "evidence": pl.List(pl.String),
    "api_request_id": pl.String,
    "batch_id": pl.String,
}
RESULTS_SCHEMA = pl.Schema(_RESULT_COLUMNS)


@dataclass(slots=True)
class AttemptRow:
    """One HTTP attempt of one request, with the rate-limit headers and scheduler state seen."""

    run_id: str
    request_key: str
    attempt: int
    case_id: str
    model: str
    arm: str
    status: str
    error_type: str | None
    api_error_type: str | None
    http_status: int | None
    error_message: str | None
    api_request_id: str | None
    sent_at: datetime
    queue_ms: float
    backoff_before_ms: float
    latency_ms: float | None
    ttfb_ms: float | None
    ttft_ms: float | None
    retry_after_s: float | None
    rl_requests_limit: int | None
    rl_requests_remaining: int | None
    rl_requests_reset: str | None
    rl_tokens_limit: int | None
    rl_tokens_remaining: int | None
    rl_tokens_reset: str | None
    rl_input_tokens_limit: int | None
    rl_input_tokens_remaining: int | None
    rl_input_tokens_reset: str | None
    rl_output_tokens_limit: int | None
    rl_output_tokens_remaining: int | None
    rl_output_tokens_reset: str | None
    sched_concurrency: int | None
    sched_in_flight: int | None
    sched_rpm: float | None
    sched_paused_ms: float | None


_RATE_LIMIT_COLUMNS: dict[str, Any] = {
    f"rl_{bucket}_{part}": (pl.String() if part == "reset" else pl.Int64())
    for bucket in ("requests", "tokens", "input_tokens", "output_tokens")
    for part in ("limit", "remaining", "reset")
}

_ATTEMPT_COLUMNS: dict[str, Any] = {
    "run_id": pl.String,
    "request_key": pl.String,
    "attempt": pl.Int32,
    "case_id": pl.String,
    "model": pl.String,
    "arm": pl.String,
    "status": pl.String,
    "error_type": pl.String,
    "api_error_type": pl.String,
    "http_status": pl.Int32,
    "error_message": pl.String,
    "api_request_id": pl.String,
    "sent_at": _UTC_TS,
    "queue_ms": pl.Float64,
    "backoff_before_ms": pl.Float64,
    "latency_ms": pl.Float64,
    "ttfb_ms": pl.Float64,
    "ttft_ms": pl.Float64,
    "retry_after_s": pl.Float64,
    **_RATE_LIMIT_COLUMNS,
    "sched_concurrency": pl.Int32,
    "sched_in_flight": pl.Int32,
    "sched_rpm": pl.Float64,
    "sched_paused_ms": pl.Float64,
}
ATTEMPTS_SCHEMA = pl.Schema(_ATTEMPT_COLUMNS)

# Column-name tables: `R.latency_ms == "latency_ms"`; a misspelt name fails with AttributeError.
R = SimpleNamespace(**{name: name for name in RESULTS_SCHEMA.names()})
A = SimpleNamespace(**{name: name for name in ATTEMPTS_SCHEMA.names()})

STATUS_OK = "ok"
STATUS_ERROR = "error"


def rows_to_frame(rows: list[Any], schema: pl.Schema) -> pl.DataFrame:
    """Build a frame with exactly `schema` from dataclass rows (an empty list gives 0 rows)."""
    if not rows:
        return pl.DataFrame(schema=schema)
    columns = {name: [getattr(row, name) for row in rows] for name in schema.names()}
    return pl.DataFrame(columns, schema=schema)


def check_fields_match() -> None:
    """Fail loudly at import if a row type and its schema disagree."""
    for row_type, schema in ((ResultRow, RESULTS_SCHEMA), (AttemptRow, ATTEMPTS_SCHEMA)):
        fields = [f.name for f in dataclasses.fields(row_type)]
        if fields != schema.names():
            raise RuntimeError(f"{row_type.__name__} fields and schema columns differ")


check_fields_match()
