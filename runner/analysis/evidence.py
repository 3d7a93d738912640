"""Did the beta take effect? Arms whose outputs and evidence are indistinguishable from baseline.

Gateways and SDK wrappers can drop or rewrite `anthropic-beta` silently, and a beta can be a
no-op for a model. An arm is flagged when no metric of `compare` changed significantly in the
direction that means a change, and no catalogued evidence signal of its betas shows up more
often than in the baseline (see `runner.analysis.signals`).

A latency or TTFT change counts only when it is larger than the client's own lag could
make it: that lag (`client_lag_ms`: its event loop's lag while a request was in flight, or
how late it read an answer that had reached its kernel) is added to its recorded latency, so
a paired difference of up to the larger of the two arms' mean lag may be the client's, not
the beta's (on a loaded machine, a no-op arm would otherwise look like it changed something).
"""

from __future__ import annotations

import polars as pl

from runner.analysis.baseline import default_baseline
from runner.analysis.compare import compare
from runner.analysis.multiple import CHANGE_DIRECTION
from runner.results.schema import STATUS_OK, R

_METRIC, _DELTA, _SIGNIFICANT = "metric", "delta", "significant"
_NOT_EFFECTS = ("self_similarity", "baseline_self_similarity")
_TIMED = (R.latency_ms, R.ttft_ms)  # what the client's lag adds to
_LAG, _LAG_BASE = "_lag", "_lag_baseline"
NO_EFFECT_NOTE = "no detectable effect: the beta may have been dropped or be a no-op"
REPORT_COLUMNS = (
    R.model, R.arm, "evidence_share", "baseline_evidence_share", "changed", "no_detectable_effect",
    "note",
)  # fmt: skip


def evidence_report(
    results: pl.LazyFrame | pl.DataFrame,
    baseline: str | None = None,
    *,
    comparison: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per (model, arm): evidence shares, the metrics that changed, and a flag for arms whose
    outputs and evidence are indistinguishable from the baseline.

    `comparison` is `compare(results, baseline)` when already computed.
    """
    baseline = baseline or default_baseline(results)
    if comparison is None:
        comparison = compare(results, baseline)
    lags = _mean_lags(results.lazy())
    base = lags.filter(pl.col(R.arm) == baseline).select(R.model, pl.col(_LAG).alias(_LAG_BASE))
    with_lags = (
        comparison.lazy()
        .join(lags, on=[R.model, R.arm], how="left", maintain_order="left")
        .join(base, on=R.model, how="left", maintain_order="left")
    )
    return _report(with_lags).collect()


def _mean_lags(results: pl.LazyFrame) -> pl.LazyFrame:
    """Per (model, arm), the mean client lag of its ok requests (0 where not measured)."""
    names = results.collect_schema().names()
    lag = pl.col(R.client_lag_ms) if R.client_lag_ms in names else pl.lit(None, pl.Float64)
    ok = results.filter(pl.col(R.status) == STATUS_OK)
    return ok.group_by(R.model, R.arm).agg(lag.mean().fill_null(0.0).alias(_LAG))


def _report(comparison: pl.LazyFrame) -> pl.LazyFrame:
    # Output metrics change in one direction only: more alike than noise is no change.
    direction = pl.col(_METRIC).replace_strict(CHANGE_DIRECTION, default=0, return_dtype=pl.Int8)
    changed = pl.col(_SIGNIFICANT) & ((direction == 0) | (pl.col(_DELTA) * direction > 0))
    lag = pl.max_horizontal(pl.col(_LAG).fill_null(0.0), pl.col(_LAG_BASE).fill_null(0.0))
    changed = changed & ~(pl.col(_METRIC).is_in(_TIMED) & (pl.col(_DELTA).abs() <= lag))
    evidence = pl.col(_METRIC) == "evidence_share"
    seen = evidence & (pl.col("value") > 0) & (pl.col("baseline") == 0)
    rows = comparison.filter(~pl.col(_METRIC).is_in(_NOT_EFFECTS)).with_columns(
        (changed | seen).alias("_changed")
    )
    summary = rows.group_by(R.model, R.arm, maintain_order=True).agg(
        pl.col("value").filter(evidence).first().alias("evidence_share"),
        pl.col("baseline").filter(evidence).first().alias("baseline_evidence_share"),
        pl.col(_METRIC).filter(pl.col("_changed")).str.join(", ").alias("changed"),
    )
    quiet = pl.col("changed") == ""
    note = pl.when(quiet).then(pl.lit(NO_EFFECT_NOTE))
    return summary.with_columns(quiet.alias("no_detectable_effect"), note.alias("note")).select(
        REPORT_COLUMNS
    )
