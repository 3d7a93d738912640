"""Answers side by side: one row per (case, model, repeat), one text column per arm.

Only successful answers have text; a failed request leaves its cell null (an error is never
shown as model output).
"""

from __future__ import annotations

import polars as pl

from runner.results.schema import STATUS_OK, R

TEXT_PREFIX = "text:"
SIDE_KEYS = (R.case_id, R.model, R.repeat)


def side_by_side(results: pl.LazyFrame | pl.DataFrame, baseline: str | None = None) -> pl.DataFrame:
    """Columns case_id, model, repeat, then `text:<arm>` per arm (`baseline` first, then sorted)."""
    frame = results.lazy()
    arms = sorted(frame.select(pl.col(R.arm).unique()).collect()[R.arm].drop_nulls())
    if baseline in arms:
        arms = [baseline, *(arm for arm in arms if arm != baseline)]
    text = pl.when(pl.col(R.status) == STATUS_OK).then(pl.col(R.text))
    cells = frame.select(*SIDE_KEYS, pl.col(R.arm), text.alias(R.text)).collect()
    wide = cells.pivot(R.arm, index=list(SIDE_KEYS), values=R.text, aggregate_function="first")
    for arm in arms:
        if arm not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.String).alias(arm))
    return wide.select(
        *SIDE_KEYS, *(pl.col(arm).cast(pl.String).alias(TEXT_PREFIX + arm) for arm in arms)
    ).sort(list(SIDE_KEYS))
