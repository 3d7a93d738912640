"""Per-group summaries of a results table: counts, error types, latency, TTFT, tokens and cost.

Latency, TTFT, tokens, throughput and cost are taken over successful requests only: an error is
never counted as model output. Cost is computed with `prices=` when given, else taken from the
table's `cost_usd` column (`load_run` prices a run with the prices it recorded), else null.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from runner.analysis.cost import COST, priced
from runner.catalog.prices import PriceTable
from runner.results.schema import STATUS_OK, R

DEFAULT_GROUPS = (R.model, R.arm)
# After the group columns, in this order (the first ten are the original columns).
SUMMARY_COLUMNS = (
    "requests", "ok", "errors", "p50_latency_ms", "p95_latency_ms", "p50_ttft_ms",
    "mean_output_tokens", "errors_by_type", "error_rate",
    "ok_rate", "p90_latency_ms", "p99_latency_ms", "p90_ttft_ms", "p99_ttft_ms",
    "output_tokens_per_s", "cost_usd", "mean_cost_usd", "p95_client_lag_ms", "mean_connect_ms",
)  # fmt: skip
# Above this p95 client lag (ms), latency differences of a few ms may be the client's own.
CLIENT_LAG_NOTE_MS = 5.0


def summarize(
    results: pl.LazyFrame | pl.DataFrame,
    by: Sequence[str] = DEFAULT_GROUPS,
    *,
    prices: PriceTable | None = None,
) -> pl.DataFrame:
    """One row per group: requests, ok, errors, error_rate, errors_by_type, latency and TTFT
    percentiles, mean output tokens, then ok_rate, p90/p99 latency and TTFT, output tokens per
    second (median over streamed ok rows), total and mean cost in USD, the p95 of
    `client_lag_ms` and the mean of `connect_ms` (the part of each latency spent getting a
    connection) over ok rows (each null where the rows do not record it)."""
    frame = _with_measured(priced(results.lazy(), prices))
    ok = pl.col(R.status) == STATUS_OK
    figures = frame.group_by(list(by)).agg(
        pl.len().alias("requests"),
        ok.sum().alias("ok"),
        (~ok).sum().alias("errors"),
        _quantile(R.latency_ms, 0.5, ok).alias("p50_latency_ms"),
        _quantile(R.latency_ms, 0.95, ok).alias("p95_latency_ms"),
        _quantile(R.ttft_ms, 0.5, ok).alias("p50_ttft_ms"),
        pl.col(R.output_tokens).filter(ok).mean().alias("mean_output_tokens"),
        *_added_figures(ok),
    )
    return (
        figures.join(_errors_by_type(frame, by), on=list(by), how="left")
        .with_columns(
            pl.col("errors_by_type").fill_null(""),
            (pl.col("errors") / pl.col("requests")).alias("error_rate"),
            (pl.col("ok") / pl.col("requests")).alias("ok_rate"),
        )
        .select(*by, *SUMMARY_COLUMNS)
        .sort(list(by))
        .collect()
    )


def _added_figures(ok: pl.Expr) -> list[pl.Expr]:
    generating_s = (pl.col(R.latency_ms) - pl.col(R.ttft_ms)) / 1000.0
    rate = pl.col(R.output_tokens) / generating_s
    streamed = ok & pl.col(R.ttft_ms).is_not_null() & (generating_s > 0)
    return [
        _quantile(R.latency_ms, 0.9, ok).alias("p90_latency_ms"),
        _quantile(R.latency_ms, 0.99, ok).alias("p99_latency_ms"),
        _quantile(R.ttft_ms, 0.9, ok).alias("p90_ttft_ms"),
        _quantile(R.ttft_ms, 0.99, ok).alias("p99_ttft_ms"),
        rate.filter(streamed).median().alias("output_tokens_per_s"),
        _known_sum(pl.col(COST).filter(ok)).alias("cost_usd"),
        pl.col(COST).filter(ok).mean().alias("mean_cost_usd"),
        _quantile(R.client_lag_ms, 0.95, ok).alias("p95_client_lag_ms"),
        pl.col(R.connect_ms).filter(ok).mean().alias("mean_connect_ms"),
    ]


def _known_sum(values: pl.Expr) -> pl.Expr:
    """The sum, or null when no value is known (an unknown cost is not a cost of 0)."""
    return pl.when(values.count() > 0).then(values.sum())


def _quantile(column: str, q: float, ok: pl.Expr) -> pl.Expr:
    return pl.col(column).filter(ok).quantile(q, "linear")


def client_lag_note(summary: pl.DataFrame) -> str | None:
    """A warning when the client's own lag (p95 per group of `summarize`: its event loop's lag,
    or how late it read an answer that had reached it) exceeds `CLIENT_LAG_NOTE_MS`, naming the
    worst group; None when it does not, or was not measured."""
    if "p95_client_lag_ms" not in summary.columns:
        return None
    measured = summary.filter(pl.col("p95_client_lag_ms").is_not_null())
    if not measured.height:
        return None
    worst = measured.row(int(measured["p95_client_lag_ms"].arg_max() or 0), named=True)
    lag = float(worst["p95_client_lag_ms"])
    if lag <= CLIENT_LAG_NOTE_MS:
        return None
    group = ", ".join(str(worst[k]) for k in summary.columns[: summary.columns.index("requests")])
    return (
        f"Client lag: beta-runner itself added up to {lag:.0f} ms to requests in flight "
        f"(p95, {group}: its event loop ran late, or it read answers late), so latency and "
        "TTFT differences of that order may be the client's, not the API's; lower the "
        "concurrency or use a less busy machine to measure them."
    )


def _with_measured(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Results written before `client_lag_ms` or `connect_ms` existed, or built by hand, read
    as unmeasured."""
    names = frame.collect_schema().names()
    missing = [c for c in (R.client_lag_ms, R.connect_ms) if c not in names]
    return frame.with_columns(pl.lit(None, pl.Float64).alias(c) for c in missing)


def _errors_by_type(frame: pl.LazyFrame, by: Sequence[str]) -> pl.LazyFrame:
    counted = (
        frame.filter(pl.col(R.status) != STATUS_OK)
        .group_by([*by, R.error_type])
        .agg(pl.len().alias("n"))
        .sort([*by, R.error_type])
    )
    label = pl.format("{}:{}", pl.col(R.error_type).fill_null("unknown"), pl.col("n"))
    return counted.group_by(list(by)).agg(label.str.join(", ").alias("errors_by_type"))
