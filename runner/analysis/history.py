"""An experiment's runs over time: one row per run with its per-arm metrics (pure, polars).

Columns: run_id, started_at, status, then one column per (arm, metric), named `ARM.METRIC`, or
`MODEL/ARM.METRIC` when the runs cover more than one model; counts are integers.
`history_rows` is the long form people read: one row per (run, model, arm), metrics as columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from runner.results.schema import R

DEFAULT_METRICS = ("requests", "error_rate", "p50_latency_ms", "p95_latency_ms", "p50_ttft_ms")
RUN_COLUMNS = ("run_id", "started_at", "status")
COUNT_METRICS = ("requests", "ok", "errors")


@dataclass(frozen=True)
class RunSummary:
    """One run as history sees it: identity, start, status, and its `summarize` frame."""

    run_id: str
    started_at: str
    status: str
    summary: pl.DataFrame


def history(runs: Sequence[RunSummary], metrics: Sequence[str] = DEFAULT_METRICS) -> pl.DataFrame:
    """One row per run, oldest first; a run without results keeps its row with null metrics."""
    index = pl.DataFrame(
        [(r.run_id, r.started_at, r.status) for r in runs],
        schema=list(RUN_COLUMNS),
        orient="row",
    )
    long = _long(runs, metrics)
    if long.is_empty():
        return index.sort("started_at", "run_id")
    wide = long.pivot(on="column", index="run_id", values="value", sort_columns=False)
    counts = [c for c in wide.columns if c.rsplit(".", 1)[-1] in COUNT_METRICS]
    wide = wide.with_columns(pl.col(counts).round().cast(pl.Int64))
    return index.join(wide, on="run_id", how="left").sort("started_at", "run_id")


def history_rows(
    runs: Sequence[RunSummary], metrics: Sequence[str] = DEFAULT_METRICS
) -> pl.DataFrame:
    """One row per (run, model, arm), oldest run first: the metrics as columns, counts as
    integers. The readable form of `history` for a terminal."""
    frames = _per_arm(runs, RUN_COLUMNS, metrics)
    if not frames:
        return pl.DataFrame(schema=[*RUN_COLUMNS, R.model, R.arm])
    rows = pl.concat(frames, how="vertical_relaxed").sort("started_at", "run_id", R.model)
    return rows.drop("started_at")


def _long(runs: Sequence[RunSummary], metrics: Sequence[str]) -> pl.DataFrame:
    frames = _per_arm(runs, ("run_id",), [pl.col(m).cast(pl.Float64) for m in metrics])
    if not frames:
        return pl.DataFrame()
    stacked = pl.concat(frames, how="vertical")
    several_models = stacked[R.model].n_unique() > 1
    prefix = pl.col(R.model) + "/" + pl.col(R.arm) if several_models else pl.col(R.arm)
    long = stacked.unpivot(index=["run_id", R.model, R.arm], variable_name="metric")
    return long.select("run_id", (prefix + "." + pl.col("metric")).alias("column"), pl.col("value"))


def _per_arm(
    runs: Sequence[RunSummary], identity: Sequence[str], metrics: Sequence[str | pl.Expr]
) -> list[pl.DataFrame]:
    """Each run's summary rows: the run's `identity` fields (RunSummary attributes), model,
    arm and `metrics`; a run without results gives no frame."""
    return [
        r.summary.select(
            *(pl.lit(getattr(r, field)).alias(field) for field in identity),
            R.model,
            R.arm,
            *metrics,
        )
        for r in runs
        if not r.summary.is_empty()
    ]
