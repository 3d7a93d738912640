"""Compare every arm with the baseline: paired differences with bootstrap CIs and p-values.

`compare` gives one row per (model, arm other than the baseline, metric) with exactly the
columns of `COMPARE_COLUMNS`:

- `baseline`, `value`: the mean of the metric's baseline side and arm side over the pairs where
  each is defined (`runner.analysis.pairs` defines every metric);
- `delta`: the mean paired difference (arm - baseline) over the `n` pairs where both are;
- `ci_low`, `ci_high`: its seeded bootstrap 95% interval; `p_value`: a seeded sign-flip
  permutation test of "no difference" (`runner.analysis.bootstrap`);
- `q_value`, `significant`, `mde`: Benjamini-Hochberg q-values across the whole table; the
  interval excludes 0 (for text-change metrics, on the side that means a change) and q < 0.05;
  the minimum detectable effect at the row's n (`runner.analysis.multiple`);
- with `scores` (a run's `scores.parquet`), `score.<name>` rows follow each group's metrics
  (`runner.analysis.score_pairs`): mean scores and paired deltas, exact McNemar tests for
  pass/fail, win rates for pairwise judges;
- `baseline_self_similarity` is a reference row (the baseline's repeat-to-repeat similarity):
  its delta, interval and p-value are null and it is never significant.

By default the metrics are `METRICS`, and also the conversation metrics
(`runner.analysis.conversation`) when the results hold a request of more than one turn.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from runner.analysis.baseline import check_baseline, default_baseline
from runner.analysis.bootstrap import BLOCK, block_index, block_statistics
from runner.analysis.conversation import (
    CONVERSATION_METRICS,
    has_conversations,
    with_last_turn_context,
)
from runner.analysis.cost import priced
from runner.analysis.multiple import ALPHA as ALPHA
from runner.analysis.multiple import BINARY_METRICS, MDE_FLOOR, adjusted
from runner.analysis.pairs import METRICS, PAIR_KEYS, REFERENCE_METRICS, metric_sides, paired
from runner.analysis.score_pairs import score_comparison
from runner.catalog.prices import PriceTable
from runner.results.schema import R

METRIC = "metric"
COMPARE_COLUMNS = (
    R.model, R.arm, METRIC, "baseline", "value", "delta", "ci_low", "ci_high", "p_value",
    "q_value", "significant", "n", "mde",
)  # fmt: skip
_TESTED_COLUMNS = (
    R.model, R.arm, METRIC, "baseline", "value", "delta", "ci_low", "ci_high", "p_value", "n",
)  # fmt: skip
_SIDES = ("_x", "_y", "_d")


def compare(
    results: pl.LazyFrame | pl.DataFrame,
    baseline: str | None = None,
    *,
    by: Sequence[str] = (R.model,),
    seed: int = 0,
    n_boot: int = 2000,
    metrics: Sequence[str] | None = None,
    scores: pl.LazyFrame | pl.DataFrame | None = None,
    prices: PriceTable | None = None,
    turns: pl.LazyFrame | pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per (`by` group, arm != `baseline`, metric); see the module docstring.

    `baseline` defaults to `default_baseline(results)`; UnknownBaseline (a ValueError) when it
    is not an arm of `results`, ValueError for an unknown metric. `cost_usd` is computed with
    `prices` when given, else the table's own `cost_usd` column is used (`load_run` prices a
    run with the prices it recorded); without either, the cost metric has no pairs.
    `turns` (the run's `turns.parquet`) gives a conversation's `last_turn_context_tokens`;
    without it that metric has pairs of plain requests only.
    """
    frame = priced(results.lazy(), prices)
    baseline = baseline or default_baseline(frame)
    arms = frame.select(pl.col(R.arm).unique()).collect()[R.arm].drop_nulls()
    check_baseline(baseline, arms.to_list())
    metrics = metrics if metrics is not None else _default_metrics(frame)
    keys = [*by, R.arm]
    talking = any(metric in CONVERSATION_METRICS for metric in metrics)
    if talking:
        frame = with_last_turn_context(frame, turns)
    pairs = paired(frame, baseline, by, conversations=talking)
    table = _metric_table(pairs, keys, metrics, seed, n_boot)
    if scores is not None:
        scored = score_comparison(frame, scores, baseline, by=by, seed=seed, n_boot=n_boot)
        table = _with_scores(table, scored, keys)
    return adjusted(_with_mde_floor(table)).select(*keys, *COMPARE_COLUMNS[2:])


def _metric_table(
    pairs: pl.LazyFrame, keys: list[str], metrics: Sequence[str], seed: int, n_boot: int
) -> pl.DataFrame:
    """Per (group, arm, metric): the point estimates and their block-bootstrap statistics."""
    blocks = _block_sums(pairs, keys, metrics, seed).collect()
    points = _points(_long(blocks, keys, metrics), keys)
    columns = [(m, f"{m}_d_s", f"{m}_d_c") for m in metrics]
    stats = block_statistics(blocks, keys, columns, seed=seed, n_boot=n_boot)
    table = points.join(stats, on=[*keys, METRIC], how="left", nulls_equal=True)
    return _finish(table, keys, metrics)


def _with_mde_floor(table: pl.DataFrame) -> pl.DataFrame:
    """`MDE_FLOOR` 1.0 for binary metrics and for rows that already have a floor, else null."""
    binary = pl.col(METRIC).is_in(BINARY_METRICS) | pl.col(MDE_FLOOR).is_not_null()
    if MDE_FLOOR not in table.columns:
        table = table.with_columns(pl.lit(None, pl.Float64).alias(MDE_FLOOR))
    return table.with_columns(pl.when(binary).then(1.0).alias(MDE_FLOOR))


def _with_scores(table: pl.DataFrame, scored: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The score rows after each group's metric rows."""
    both = pl.concat([table.with_columns(pl.lit(0).alias("_part")), scored.with_columns(
        pl.lit(1).alias("_part"))], how="diagonal_relaxed")  # fmt: skip
    return both.with_row_index("_at").sort([*keys, "_part", "_at"]).drop("_part", "_at")


def _default_metrics(frame: pl.LazyFrame) -> tuple[str, ...]:
    return (*METRICS, *CONVERSATION_METRICS) if has_conversations(frame) else METRICS


def _block_sums(
    pairs: pl.LazyFrame, keys: list[str], metrics: Sequence[str], seed: int
) -> pl.LazyFrame:
    aggregates = []
    for metric in metrics:
        x, y = metric_sides(metric)
        for side, expr in zip(_SIDES, (x, y, x - y), strict=True):
            aggregates += [
                expr.sum().alias(f"{metric}{side}_s"),
                expr.count().alias(f"{metric}{side}_c"),
            ]
    unit = pl.struct(*PAIR_KEYS)
    return (
        pairs.with_columns(block_index(unit, seed, keys)).group_by([*keys, BLOCK]).agg(aggregates)
    )


def _long(blocks: pl.DataFrame, keys: list[str], metrics: Sequence[str]) -> pl.DataFrame:
    """One row per (group, metric, block): sums and counts of x, y and the difference d."""
    parts = []
    for metric in metrics:
        columns = {
            f"{side}{kind}": f"{metric}{side}_{kind[-1]}"
            for side in _SIDES
            for kind in ("_s", "_c")
        }
        parts.append(
            blocks.select(
                *keys,
                pl.lit(metric).alias(METRIC),
                *(pl.col(source).alias(name) for name, source in columns.items()),
            )
        )
    return pl.concat(parts)


def _points(long: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    totals = long.group_by([*keys, METRIC]).agg(pl.col(r"^_[xyd]_[sc]$").sum())
    return totals.select(
        *keys,
        METRIC,
        _mean("_y").alias("baseline"),
        _mean("_x").alias("value"),
        _mean("_d").alias("delta"),
        pl.col("_d_c").cast(pl.Int64).alias("n"),
    )


def _mean(side: str) -> pl.Expr:
    count = pl.col(f"{side}_c")
    return pl.when(count > 0).then(pl.col(f"{side}_s") / count).cast(pl.Float64)


def _finish(table: pl.DataFrame, keys: list[str], metrics: Sequence[str]) -> pl.DataFrame:
    reference = pl.col(METRIC).is_in(REFERENCE_METRICS)
    order = pl.col(METRIC).replace_strict(list(metrics), list(range(len(metrics))))
    tested = ("delta", "ci_low", "ci_high", "p_value")
    return (
        table.with_columns(
            *(pl.when(~reference).then(pl.col(c)).cast(pl.Float64).alias(c) for c in tested),
        )
        .sort([*keys, order])
        .select(*keys, *_TESTED_COLUMNS[2:])
    )
