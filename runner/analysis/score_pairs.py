"""Scores compared between arms: `score.<name>` rows in the shape of `compare`'s table.

For a scorer that scores every arm, each arm's request is paired with the baseline's (same
run, case, model and repeat; both scored): `value` and `baseline` are the two sides' mean
scores, `delta` their mean paired difference with a seeded bootstrap 95% interval. When every
score is 0 or 1 (pass/fail), `p_value` is the exact McNemar test (a two-sided binomial test
of the discordant pairs: arm passed and baseline failed, or the reverse); otherwise it is the
sign-flip permutation test of `runner.analysis.bootstrap`. A scorer with pass/fail beside a
graded value (a judge's grade with `pass_at`, a length) also gets `score.<name>.pass_rate`.

A pairwise judge scores only the arms (1 when the arm's answer is preferred, 0.5 a tie, 0 the
baseline's): its row's `value` is the arm's win rate, `baseline` 0.5 (no preference), `delta`
the win rate minus 0.5 with its bootstrap interval, and `p_value` the exact sign test of wins
against losses (ties left out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from runner.analysis.bootstrap import BLOCK, block_index, block_statistics
from runner.analysis.multiple import MDE_FLOOR
from runner.analysis.pairs import PAIR_KEYS
from runner.analysis.scores import scorer_names
from runner.results.schema import R, S

SCORE_METRIC = "score."
PASS_RATE = ".pass_rate"
_X, _Y, _D, _M, _UNIT, _EXACT = "_x", "_y", "_d", "_metric", "_unit", "_exact"
_ROW_COLUMNS = ("baseline", "value", "delta", "ci_low", "ci_high", "p_value", "n")


def score_comparison(
    results: pl.LazyFrame | pl.DataFrame,
    scores: pl.LazyFrame | pl.DataFrame,
    baseline: str,
    *,
    by: Sequence[str] = (R.model,),
    seed: int = 0,
    n_boot: int = 2000,
) -> pl.DataFrame:
    """One row per (`by` group, arm != baseline, score metric); see the module docstring."""
    keys = [*by, R.arm]
    scored = _scored(results, scores, by)
    parts = [part for name in scorer_names(scores) for part in _sides(scored, name, baseline, keys)]
    sides = pl.concat(parts, how="vertical_relaxed") if parts else _empty_sides(scored, keys)
    return _statistics(sides, keys, seed, n_boot)


def _scored(
    results: pl.LazyFrame | pl.DataFrame, scores: pl.LazyFrame | pl.DataFrame, by: Sequence[str]
) -> pl.DataFrame:
    columns = list(dict.fromkeys([R.request_key, *PAIR_KEYS, *by, R.arm]))
    frame = results.lazy().select(columns)
    table = scores.lazy().filter(pl.col(S.value).is_not_null())
    return (
        table.select(S.request_key, S.scorer, S.value, S.passed)
        .join(frame, on=R.request_key, how="inner")
        .collect()
    )


def _sides(scored: pl.DataFrame, name: str, baseline: str, keys: list[str]) -> list[pl.DataFrame]:
    """Per metric of scorer `name`: one row per pair with x (arm), y (baseline) and d."""
    mine = scored.filter(pl.col(S.scorer) == name)
    base = mine.filter(pl.col(R.arm) == baseline)
    arms = mine.filter(pl.col(R.arm) != baseline)
    if base.is_empty():  # a pairwise judge: the arm's win (1), tie (0.5) or loss (0)
        wins = arms.select(*keys, _unit(), pl.col(S.value).alias(_X), pl.lit(0.5).alias(_Y))
        return [_labelled(wins, SCORE_METRIC + name, keys, exact=True)]
    on = list(PAIR_KEYS)
    pairs = arms.join(base.select(*on, S.value, S.passed), on=on, how="inner", suffix="_b")
    parts = [
        _labelled(
            pairs.select(
                *keys, _unit(), pl.col(S.value).alias(_X), pl.col(f"{S.value}_b").alias(_Y)
            ),
            SCORE_METRIC + name,
            keys,
            exact=_binary(pairs, S.value),
        )
    ]
    passed = pl.col(S.passed).cast(pl.Float64)
    graded = mine.filter(pl.col(S.passed).is_not_null()).select(passed != pl.col(S.value))
    if graded.height and graded.to_series().any():  # pass/fail beside a graded value
        rate = pairs.filter(pl.col(S.passed).is_not_null() & pl.col(f"{S.passed}_b").is_not_null())
        parts.append(
            _labelled(
                rate.select(
                    *keys,
                    _unit(),
                    passed.alias(_X),
                    pl.col(f"{S.passed}_b").cast(pl.Float64).alias(_Y),
                ),
                SCORE_METRIC + name + PASS_RATE,
                keys,
                exact=True,
            )
        )
    return parts


def _unit() -> pl.Expr:
    """What identifies a pair within its group, for dealing pairs into bootstrap blocks."""
    return pl.struct(R.run_id, R.case_id, R.repeat).hash(0).alias(_UNIT)


def _binary(pairs: pl.DataFrame, column: str) -> bool:
    values = pl.concat([pairs[column], pairs[f"{column}_b"]])
    return bool(values.is_in([0.0, 1.0]).all())


def _labelled(frame: pl.DataFrame, metric: str, keys: list[str], *, exact: bool) -> pl.DataFrame:
    return frame.select(
        *keys,
        _UNIT,
        pl.lit(metric).alias(_M),
        pl.lit(exact).alias(_EXACT),
        pl.col(_X).cast(pl.Float64),
        pl.col(_Y).cast(pl.Float64),
        (pl.col(_X) - pl.col(_Y)).cast(pl.Float64).alias(_D),
    )


def _empty_sides(scored: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    schema = {k: scored.schema[k] for k in keys}
    columns = {_UNIT: pl.UInt64, _M: pl.String, _EXACT: pl.Boolean}
    columns.update({_X: pl.Float64, _Y: pl.Float64, _D: pl.Float64})
    return pl.DataFrame(schema={**schema, **columns})


def _statistics(sides: pl.DataFrame, keys: list[str], seed: int, n_boot: int) -> pl.DataFrame:
    groups = [*keys, _M]
    if sides.is_empty():
        return _empty(sides, keys)
    blocks = (
        sides.with_columns(block_index(pl.col(_UNIT), seed, groups))
        .group_by([*groups, BLOCK])
        .agg(pl.col(_D).sum().alias("_s"), pl.col(_D).count().alias("_c"))
    )
    stats = block_statistics(blocks, groups, [("d", "_s", "_c")], seed=seed, n_boot=n_boot)
    points = sides.group_by(groups).agg(
        pl.col(_Y).mean().alias("baseline"),
        pl.col(_X).mean().alias("value"),
        pl.col(_D).mean().alias("delta"),
        pl.len().cast(pl.Int64).alias("n"),
        pl.col(_EXACT).all(),
        (pl.col(_D) > 0).sum().alias("_up"),
        (pl.col(_D) < 0).sum().alias("_down"),
    )
    table = points.join(stats.drop("metric"), on=groups, how="left", nulls_equal=True)
    exact = [
        exact_sign_p(up, down) if use else p
        for up, down, use, p in table.select("_up", "_down", _EXACT, "p_value").iter_rows()
    ]
    table = table.with_columns(pl.Series("p_value", exact, dtype=pl.Float64))
    floor = pl.when(pl.col(_EXACT)).then(1.0).alias(MDE_FLOOR)  # pass/fail: a floor applies
    return (
        table.rename({_M: "metric"})
        .select(*keys, "metric", *_ROW_COLUMNS, floor)
        .sort([*keys, "metric"])
    )


def _empty(sides: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {k: sides.schema[k] for k in keys}
    schema["metric"] = pl.String()
    schema.update({c: pl.Float64() for c in _ROW_COLUMNS[:-1]})
    schema["n"] = pl.Int64()
    schema[MDE_FLOOR] = pl.Float64()
    return pl.DataFrame(schema=schema)


def exact_sign_p(up: int, down: int) -> float | None:
    """Two-sided exact binomial test of `up` against `down` at p = 1/2 (McNemar's exact test
    on discordant pairs); 1.0 when there are none."""
    n = up + down
    if n == 0:
        return 1.0
    k = np.arange(0, min(up, down) + 1)
    log_terms = (
        math.lgamma(n + 1)
        - np.array([math.lgamma(i + 1) + math.lgamma(n - i + 1) for i in k])
        - n * math.log(2.0)
    )
    tail = float(np.exp(log_terms).sum())
    return min(1.0, 2.0 * tail)
