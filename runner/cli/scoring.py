"""Scores on the terminal, for `run` and `score` alike: the scores-per-arm table (means and
pass rates with three decimals each, so 1.000 stands beside 0.667), and saying so when a
scorer measured nothing: one line per scorer whose every score is an error, and exit 1."""

from __future__ import annotations

from collections.abc import Collection

import polars as pl
from rich.console import Console
from rich.table import Table

from runner.analysis.scores import unscored
from runner.cli.logs import EventLog
from runner.cli.terminal import fit_table, fixed_cell
from runner.errors import ScorersFailed
from runner.results.schema import S


def score_table(console: Console, summary: pl.DataFrame, title: str) -> Table:
    """`score_summary`'s frame as a table fitted to `console`."""
    return fit_table(console, summary, title, formats=dict.fromkeys(_SCORE_COLUMNS, fixed_cell))


_SCORE_COLUMNS = ("mean", "pass_rate")


def check_every_scorer_scored(
    scores: pl.LazyFrame | None, log: EventLog, only: Collection[str] | None = None
) -> None:
    """ScorersFailed (exit 1) naming each scorer of the run's `scores` (of `only`, if given)
    that has only error rows."""
    if scores is None:
        return
    if only is not None:
        scores = scores.filter(pl.col(S.scorer).is_in(list(only)))
    failed = unscored(scores)
    lines = tuple(
        f"scorer {row[S.scorer]!r} scored nothing: all {row['rows']} scores are errors, "
        f"e.g. {row[S.error]}"
        for row in failed.iter_rows(named=True)
    )
    for row, line in zip(failed.iter_rows(named=True), lines, strict=True):
        log.event("scorer_failed", {"scorer": row[S.scorer], "message": line}, "error")
    if lines:
        raise ScorersFailed(lines)
