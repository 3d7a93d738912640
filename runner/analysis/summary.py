"""Per-group summaries of a results table: counts, error types, latency and token figures.

Latency, TTFT and tokens are taken over successful requests only: an error is never counted as
model output.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from runner.records import STATUS_OK, R

DEFAULT_GROUPS = (R.model, R.arm)


def summarize(
    results: pl.LazyFrame | pl.DataFrame, by: Sequence[str] = DEFAULT_GROUPS
) -> pl.DataFrame:
    """One row per group: requests, ok, errors, error_rate, errors_by_type, latency and TTFT
    percentiles, mean output tokens."""
    frame = results.lazy()
    ok = pl.col(R.status) == STATUS_OK
    figures = frame.group_by(list(by)).agg(
        pl.len().alias("requests"),
        ok.sum().alias("ok"),
        (~ok).sum().alias("errors"),
        pl.col(R.latency_ms).filter(ok).quantile(0.5, "linear").alias("p50_latency_ms"),
        pl.col(R.latency_ms).filter(ok).quantile(0.95, "linear").alias("p95_latency_ms"),
        pl.col(R.ttft_ms).filter(ok).quantile(0.5, "linear").alias("p50_ttft_ms"),
        pl.col(R.output_tokens).filter(ok).mean().alias("mean_output_tokens"),
    )
    return (
        figures.join(_errors_by_type(frame, by), on=list(by), how="left")
        .with_columns(
            pl.col("errors_by_type").fill_null(""),
            (pl.col("errors") / pl.col("requests")).alias("error_rate"),
        )
        .sort(list(by))
        .collect()
    )


def _errors_by_type(frame: pl.LazyFrame, by: Sequence[str]) -> pl.LazyFrame:
    counted = (
        frame.filter(pl.col(R.status) != STATUS_OK)
        .group_by([*by, R.error_type])
        .agg(pl.len().alias("n"))
        .sort([*by, R.error_type])
    )
    label = pl.format("{}:{}", pl.col(R.error_type).fill_null("unknown"), pl.col("n"))
    return counted.group_by(list(by)).agg(label.str.join(", ").alias("errors_by_type"))
