"""Reading a whole comparison table at once: q-values, significance and detectable effects.

A comparison has one p-value per (model, arm, metric): a dozen metrics x arms x models means
several rows under 0.05 by chance in every run. `adjusted` adds, across the whole table:

- `q_value`: the Benjamini-Hochberg adjusted p-value (the rows with a p-value, m of them, are
  ranked by p; q of rank i is the minimum over ranks j >= i of p_(j) * m / j, at most 1). Rows
  whose q is below `ALPHA` are discoveries with a false discovery rate of at most `ALPHA`.
- `significant`: the CI excludes 0 *and* q < ALPHA (the raw `p_value` is kept). For metrics of
  how much the text changed, only a change counts: `exact_match` and `similarity` are
  significant only below the baseline's own repeat-to-repeat figure (an arm identical to the
  baseline is more alike than two baseline samples, which is no change), `outputs_changed` and
  `stop_reason_shift` only above it.
- `mde`: the minimum detectable effect at the row's n: the smallest true delta that a two-sided
  test at ALPHA would find with 80% power, (z_0.975 + z_0.8) x SE, with the standard error read
  off the bootstrap interval (its width / (2 x 1.96)). "No difference found, but anything below
  `mde` could have been missed." Below `MIN_PAIRS` pairs no sign-flip or McNemar test can reach
  p < 0.05 at all (its smallest p is 2 / 2^n): `mde` is null there. For a metric that is 0 or 1
  per pair (a pass/fail score, an error, identical text), a test needs at least `MIN_PAIRS`
  discordant pairs, so `mde` is at least MIN_PAIRS / n (above 1: nothing detectable at this n);
  such rows carry that floor in `MDE_FLOOR`, which `adjusted` consumes.
"""

from __future__ import annotations

import numpy as np
import polars as pl

ALPHA = 0.05
MIN_PAIRS = 6
MDE_FLOOR = "_mde_floor"
BINARY_METRICS = ("error_rate", "outputs_changed", "exact_match", "stop_reason_shift",
                  "evidence_share")  # fmt: skip
_Z_ALPHA, _Z_POWER = 1.959964, 0.841621
# Output-change metrics and the sign of a delta that means "the text changed".
CHANGE_DIRECTION = {
    "exact_match": -1,
    "similarity": -1,
    "stop_reason_shift": 1,
    "outputs_changed": 1,
}


def q_values(p_values: pl.Series) -> pl.Series:
    """Benjamini-Hochberg q-values of `p_values` (nulls stay null, order kept)."""
    p = p_values.cast(pl.Float64).to_numpy()
    q = np.full(p.shape, np.nan)
    present = ~np.isnan(p)
    m = int(present.sum())
    if m:
        order = np.argsort(p[present], kind="stable")
        ranked = p[present][order] * m / np.arange(1, m + 1)
        monotone = np.minimum.accumulate(ranked[::-1])[::-1]
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(monotone, 1.0)
        q[present] = adjusted
    return pl.Series(p_values.name, q, dtype=pl.Float64).fill_nan(None)


def adjusted(table: pl.DataFrame, metric: str = "metric") -> pl.DataFrame:
    """`table` (a comparison) with `q_value` and `mde`, and `significant` from the q-values."""
    low, high = pl.col("ci_low"), pl.col("ci_high")
    direction = pl.col(metric).replace_strict(CHANGE_DIRECTION, default=0, return_dtype=pl.Int8)
    excludes = (
        pl.when(direction == 1)
        .then(low > 0)
        .when(direction == -1)
        .then(high < 0)
        .otherwise((low > 0) | (high < 0))
    )
    se = (high - low) / (2 * _Z_ALPHA)
    if MDE_FLOOR not in table.columns:
        table = table.with_columns(pl.lit(None, pl.Float64).alias(MDE_FLOOR))
    floor = pl.when(pl.col(MDE_FLOOR).is_not_null()).then(MIN_PAIRS / pl.col("n"))
    mde = pl.max_horizontal((_Z_ALPHA + _Z_POWER) * se, floor)
    return (
        table.with_columns(
            q_values(table["p_value"]).alias("q_value"),
            pl.when(pl.col("n") >= MIN_PAIRS).then(mde).alias("mde"),
        )
        .with_columns(
            (excludes & (pl.col("q_value") < ALPHA)).fill_null(False).alias("significant")
        )
        .drop(MDE_FLOOR)
    )
