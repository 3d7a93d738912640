"""Test support: small results tables built from partial rows, with the real schema."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from manifest_support import make_run

from runner.results.schema import (
    RESULTS_SCHEMA,
    ConversationColumns,
    MessageColumns,
    R,
    ResultRow,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def row(**values: Any) -> dict[str, Any]:
    """One result row: an ok answer with plain defaults, overridden by `values`."""
    base: dict[str, Any] = {name: None for name in RESULTS_SCHEMA.names()}
    base.update(
        {
            R.run_id: "run1",
            R.case_id: "c1",
            R.model: "claude-sonnet-5",
            R.arm: "baseline",
            R.betas: [],
            R.repeat: 0,
            R.status: "ok",
            R.attempts: 1,
            R.queue_ms: 0.0,
            R.backoff_ms: 0.0,
            R.latency_ms: 100.0,
            R.ttfb_ms: 10.0,
            R.ttft_ms: 20.0,
            R.started_at: T0,
            R.finished_at: T0,
            R.text: "hello world",
            R.stop_reason: "end_turn",
            R.input_tokens: 10,
            R.output_tokens: 8,
            R.cache_creation_input_tokens: 0,
            R.cache_read_input_tokens: 0,
            R.content_types: ["text"],
            R.evidence: [],
        }
    )
    base.update(values)
    if base[R.status] != "ok":
        base.update({R.text: None, R.input_tokens: None, R.output_tokens: None})
        base.update({R.latency_ms: values.get(R.latency_ms), R.ttft_ms: None})
    base[R.request_key] = "|".join(
        str(base[k]) for k in (R.run_id, R.case_id, R.model, R.arm, R.repeat)
    )
    return base


def results(*rows: dict[str, Any]) -> pl.DataFrame:
    """A results table of `rows`, exactly RESULTS_SCHEMA."""
    return pl.DataFrame(list(rows), schema=RESULTS_SCHEMA)


def error(**values: Any) -> dict[str, Any]:
    """One failed request row."""
    return row(**{"status": "error", "error_type": "rate_limited", "http_status": 429, **values})


def result_row(values: dict[str, Any]) -> ResultRow:
    """The `ResultRow` of a flat row (as `row` returns), its message and conversation columns
    regrouped."""
    parts = {f.name for f in dataclasses.fields(MessageColumns)}
    turns = {f.name for f in dataclasses.fields(ConversationColumns)}
    message = MessageColumns(**{k: v for k, v in values.items() if k in parts})
    conversation = ConversationColumns(**{k: v for k, v in values.items() if k in turns})
    rest = {k: v for k, v in values.items() if k not in parts | turns}
    return ResultRow(message=message, conversation=conversation, **rest)


def two_arm_run(results_dir: Path, **values: Any) -> Path:
    """A compacted run `r1` under `results_dir`: a baseline and an arm `beta` 50 ms slower,
    12 cases each (enough pairs for the shift to survive the correction across a compare
    table's rows), every row also with `values`."""
    run = make_run(results_dir, "r1")
    rows = [row(case_id=f"c{i}", latency_ms=100.0 + i, **values) for i in range(12)]
    rows += [row(case_id=f"c{i}", arm="beta", latency_ms=150.0 + i, **values) for i in range(12)]
    run.append([result_row(r) for r in rows], [])
    run.compact()
    return run.path
