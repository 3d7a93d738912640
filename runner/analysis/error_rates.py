"""Error rates per group and error type, with Wilson 95% confidence intervals.

`error_type` is the taxonomy of `runner.errors` (rate_limited, spend_limit, overloaded,
server_error, invalid_beta, invalid_request, auth, permission, not_found, billing,
request_too_large, timeout, stream_cut, stream_error, connection, error). Every type seen
anywhere in the table gets a row in every group (zero counts included, so arms line up), plus
one row `ALL` for any error.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from runner.results.schema import STATUS_OK, R

ALL = "all"
_Z = 1.959963984540054  # the normal quantile for a two-sided 95% interval
ERROR_RATE_COLUMNS = (R.error_type, "errors", "requests", "rate", "ci_low", "ci_high")


def error_rates(
    results: pl.LazyFrame | pl.DataFrame, by: Sequence[str] = (R.model, R.arm)
) -> pl.DataFrame:
    """One row per (group, error type) and per group for `all`: counts, rate, Wilson CI."""
    frame = results.lazy().with_columns(
        pl.when(pl.col(R.status) != STATUS_OK)
        .then(pl.col(R.error_type).fill_null("error"))
        .alias(R.error_type)
    )
    groups = frame.group_by(list(by)).agg(pl.len().alias("requests"))
    kinds = frame.select(pl.col(R.error_type).drop_nulls().unique()).with_columns(
        pl.col(R.error_type).cast(pl.String)
    )
    kinds = pl.concat([kinds, pl.LazyFrame({R.error_type: [ALL]})])
    counts = pl.concat(
        [
            frame.drop_nulls(R.error_type).group_by([*by, R.error_type]).agg(pl.len()),
            frame.drop_nulls(R.error_type)
            .group_by(list(by))
            .agg(pl.len(), pl.lit(ALL).alias(R.error_type)),
        ],
        how="diagonal",
    )
    table = groups.join(kinds, how="cross").join(counts, on=[*by, R.error_type], how="left")
    return (
        table.with_columns(pl.col("len").fill_null(0).cast(pl.Int64).alias("errors"))
        .with_columns(
            pl.col("requests").cast(pl.Int64), *wilson(pl.col("errors"), pl.col("requests"))
        )
        .sort([*by, pl.col(R.error_type) == ALL, R.error_type])
        .select(*by, *ERROR_RATE_COLUMNS)
        .collect()
    )


def wilson(successes: pl.Expr, trials: pl.Expr, z: float = _Z) -> list[pl.Expr]:
    """`rate`, `ci_low` and `ci_high`: the share and its Wilson score interval."""
    n = trials.cast(pl.Float64)
    p = successes.cast(pl.Float64) / n
    denominator = 1.0 + z**2 / n
    centre = (p + z**2 / (2.0 * n)) / denominator
    half = z * (p * (1.0 - p) / n + z**2 / (4.0 * n**2)).sqrt() / denominator
    # At p = 0 or 1 the bound is exactly 0 or 1; say so rather than leave a rounding residue.
    low = pl.when(p == 0.0).then(0.0).otherwise((centre - half).clip(0.0, 1.0))
    high = pl.when(p == 1.0).then(1.0).otherwise((centre + half).clip(0.0, 1.0))
    return [p.alias("rate"), low.alias("ci_low"), high.alias("ci_high")]


def without_success(results: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """The (model, arm) groups in which no request succeeded, sorted: `requests`, the
    commonest `error_type` with its `http_status` and one `error_message` of it."""
    frame = results.lazy().with_columns(pl.col(R.error_type).fill_null("error"))
    failed = frame.group_by(R.model, R.arm).agg(
        pl.len().alias("requests"), (pl.col(R.status) == STATUS_OK).sum().alias("__ok")
    )
    failed = failed.filter(pl.col("__ok") == 0).drop("__ok")
    commonest = (
        frame.group_by(R.model, R.arm, R.error_type)
        .agg(pl.len().alias("__n"), pl.col(R.http_status).first(), pl.col(R.error_message).first())
        .sort("__n", R.error_type, descending=[True, False])
        .group_by(R.model, R.arm, maintain_order=True)
        .first()
        .drop("__n")
    )
    joined = failed.join(commonest, on=[R.model, R.arm], how="left")
    return joined.sort(R.model, R.arm).collect()
