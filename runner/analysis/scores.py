"""Scores per arm: each scorer's mean value and pass rate, joined from `scores.parquet`.

A request a scorer did not score (a failed request, a case without `expected`, a scorer error)
counts nowhere but in `errors`. `score_summary` gives per (model, arm, scorer): `n` scored,
`errors`, `mean` value and `pass_rate` (null when the scorer has no pass/fail).
"""

from __future__ import annotations

import polars as pl

from runner.analysis.cost import COST
from runner.results.schema import SCORES_SCHEMA, STATUS_OK, J, R, S

SCORE_PREFIX = "score."
PASS_RATE = ".pass_rate"
SUMMARY_COLUMNS = (R.model, R.arm, S.scorer, "n", "errors", "mean", "pass_rate")


def scorer_names(scores: pl.LazyFrame | pl.DataFrame) -> list[str]:
    """The scorers present in a scores table, sorted."""
    names = scores.lazy().select(pl.col(S.scorer).unique()).collect()[S.scorer]
    return sorted(names.drop_nulls())


def score_summary(
    results: pl.LazyFrame | pl.DataFrame, scores: pl.LazyFrame | pl.DataFrame
) -> pl.DataFrame:
    """One row per (model, arm, scorer); see the module docstring."""
    keys = results.lazy().select(R.request_key, R.model, R.arm)
    joined = scores.lazy().join(keys, on=R.request_key, how="inner")
    return (
        joined.group_by(R.model, R.arm, S.scorer)
        .agg(
            pl.col(S.value).count().alias("n"),
            pl.col(S.error).is_not_null().sum().cast(pl.Int64).alias("errors"),
            pl.col(S.value).mean().alias("mean"),
            pl.col(S.passed).cast(pl.Float64).mean().alias("pass_rate"),
        )
        .with_columns(pl.col("n").cast(pl.Int64))
        .sort(R.model, S.scorer, R.arm)
        .select(SUMMARY_COLUMNS)
        .collect()
    )


def with_score_columns(
    summary: pl.DataFrame,
    results: pl.LazyFrame | pl.DataFrame,
    scores: pl.LazyFrame | pl.DataFrame | None,
) -> pl.DataFrame:
    """A per-(model, arm) summary with `score.NAME` (mean) and `score.NAME.pass_rate` columns
    per scorer of `scores` (null for an arm it did not score)."""
    if scores is None:
        return summary
    table = score_summary(results, scores)
    for name in table[S.scorer].unique().sort():
        mine = table.filter(pl.col(S.scorer) == name).select(
            R.model,
            R.arm,
            pl.col("mean").alias(SCORE_PREFIX + name),
            pl.col("pass_rate").alias(SCORE_PREFIX + name + PASS_RATE),
        )
        summary = summary.join(mine, on=[R.model, R.arm], how="left")
    return summary


def empty_scores() -> pl.LazyFrame:
    """A scores table with no rows (a run without scorers)."""
    return pl.LazyFrame(schema=SCORES_SCHEMA)


def judge_totals(judges: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """Per judge (scorer) and judge model: requests, errors, tokens and cost of a run's judge
    requests (`load_judge_requests`; they are never part of an arm's figures). The cost is
    null where no request of the judge was priced (no price for its model, or `judges` has
    no `cost_usd` column), never 0."""
    frame = judges.lazy()
    if COST not in frame.collect_schema().names():
        frame = frame.with_columns(pl.lit(None, pl.Float64).alias(COST))
    return (
        frame.group_by(J.arm, J.model)
        .agg(
            pl.len().alias("requests"),
            (pl.col(J.status) != STATUS_OK).sum().alias("errors"),
            pl.col(J.input_tokens).sum(),
            pl.col(J.output_tokens).sum(),
            pl.when(pl.col(COST).count() > 0).then(pl.col(COST).sum()).alias(COST),
        )
        .rename({J.arm: "judge"})
        .sort("judge", J.model)
        .collect()
    )


def unscored(scores: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """The scorers whose every row is an error: `scorer`, `rows` and the first `error`."""
    return (
        scores.lazy()
        .group_by(S.scorer)
        .agg(
            pl.len().alias("rows"),
            pl.col(S.error).is_not_null().all().alias("_failed"),
            pl.col(S.error).drop_nulls().first(),
        )
        .filter(pl.col("_failed"))
        .drop("_failed")
        .sort(S.scorer)
        .collect()
    )
