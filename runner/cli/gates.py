"""Checking a finished run against `--fail-on` thresholds (for `run` and `compare` alike).

Evaluates the thresholds over the run's per-arm summary (`RunTables`, read once by the
command and shared with what it prints) and its baseline arm; a `regress.`
threshold compares each (model, arm) with the newest earlier complete run of the same
experiment, in the same results directory, in which that arm has a successful request and a
value of the metric (an outage run is passed over), says which run, and warns (an event in
JSON logs) for each pair no earlier run can check. Logs each crossed threshold and raises
ThresholdsCrossed (exit 1) when any is; a threshold naming an arm or model the run does not
have is a usage error (exit 2).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from runner.analysis import default_baseline, summarize
from runner.analysis.cost import with_cost
from runner.analysis.runs import load_scores, run_prices
from runner.analysis.scores import scorer_names, with_score_columns
from runner.analysis.thresholds import (
    Threshold,
    Violation,
    check_names,
    check_score_metrics,
    evaluate,
)
from runner.catalog.prices import PriceTable
from runner.cli.logs import EventLog
from runner.cli.translate import flag_errors
from runner.config.types import JSONValue
from runner.errors import ThresholdsCrossed
from runner.results.schema import R
from runner.results.store import SHARD_PREFIX, RunDirectory, earlier_complete, read_results


@dataclass(frozen=True)
class RunTables:
    """A run's tables as read once for everything shown and checked after it: the results
    (priced), their per-arm `summarize` summary, and the scores (None: unscored)."""

    results: pl.LazyFrame
    summary: pl.DataFrame
    scores: pl.LazyFrame | None

    @classmethod
    def read(cls, run_dir: Path, prices: PriceTable) -> RunTables:
        """`run_dir`'s tables, its results priced at `prices`."""
        results = with_cost(read_results(run_dir), prices)
        return cls(results, summarize(results), load_scores(run_dir))


def check_thresholds(
    thresholds: Sequence[Threshold], run_dir: Path | None, tables: RunTables, log: EventLog
) -> None:
    """Raise ThresholdsCrossed naming every crossed threshold over the run's `tables`.

    The previous run is looked for beside `run_dir` (`<results>/<experiment>/<run id>`); a
    run with no directory (read from a URL) has none, so the caller refuses `regress.` there.
    """
    violations = _violations(thresholds, run_dir, tables, log)
    for violation in violations:
        fields = {"model": violation.model, "arm": violation.arm}
        fields["metric"] = violation.threshold.metric
        log.event("threshold_crossed", {**fields, "message": violation.message()}, "error")
    if violations:
        raise ThresholdsCrossed(tuple(v.message() for v in violations))


def _violations(
    thresholds: Sequence[Threshold], run_dir: Path | None, tables: RunTables, log: EventLog
) -> list[Violation]:
    baseline = default_baseline(tables.results)
    scores = tables.scores
    with flag_errors():
        check_score_metrics(thresholds, scorer_names(scores) if scores is not None else [])
    current = with_score_columns(tables.summary, tables.results, scores)
    with flag_errors():
        arms, models = current[R.arm].unique().to_list(), current[R.model].unique().to_list()
        check_names(thresholds, sorted(arms), sorted(models))
    plain = [t for t in thresholds if t.kind != "regress"]
    violations = evaluate(plain, current, baseline_arm=baseline)
    earlier = _Earlier(_earlier_runs(run_dir))
    for threshold in (t for t in thresholds if t.kind == "regress"):
        violations += _regressions(threshold, current, earlier, log)
    return violations


def _earlier_runs(run_dir: Path | None) -> list[RunDirectory]:
    if run_dir is None:
        return []
    run = run_dir.parent if run_dir.name.startswith(SHARD_PREFIX) else run_dir
    return earlier_complete(run.parent.parent, run.parent.name, run)


def _regressions(
    threshold: Threshold, current: pl.DataFrame, earlier: _Earlier, log: EventLog
) -> list[Violation]:
    """`threshold` for each (model, arm) against the newest earlier complete run in which
    that arm has a successful request and a value of the metric; each comparison named, each
    pair that none has a warning (and an event), never a silent pass."""
    pending = _pairs(threshold, current)
    violations: list[Violation] = []
    for name, summary in earlier:
        if not pending:
            break
        found = _with_data(summary, threshold.metric, pending)
        if found.height:
            mine = current.join(found.select(R.model, R.arm), on=[R.model, R.arm], how="semi")
            label = f"run {name}"
            violations += evaluate([threshold], mine, baseline_arm=None, previous=found,
                                   previous_run=label)  # fmt: skip
            pending -= set(found.select(R.model, R.arm).iter_rows())
            log.info(f"{threshold.text!r}: compared with {label}.", "threshold_compared")
    for model, arm in sorted(pending):
        message = (
            f"{threshold.text!r} is not checked for model {model}, arm {arm}: no earlier "
            f"complete run has a successful request of it with {threshold.metric}."
        )
        log.warning(message)
        fields: dict[str, JSONValue] = {"model": model, "arm": arm, "message": message}
        fields["metric"] = threshold.metric
        log.event("threshold_not_checked", fields, "warning")
    return violations


def _pairs(threshold: Threshold, current: pl.DataFrame) -> set[tuple[str, str]]:
    return set(threshold.selected(current).select(R.model, R.arm).iter_rows())


def _with_data(summary: pl.DataFrame, metric: str, pairs: set[tuple[str, str]]) -> pl.DataFrame:
    if metric not in summary.columns:
        return summary.clear()
    has = summary.filter((pl.col("ok") > 0) & pl.col(metric).is_not_null())
    return has.filter(pl.struct(R.model, R.arm).map_elements(
        lambda row: (row[R.model], row[R.arm]) in pairs, return_dtype=pl.Boolean
    ))  # fmt: skip


class _Earlier:
    """The earlier complete runs, newest first, each summarised once when first needed."""

    def __init__(self, runs: list[RunDirectory]) -> None:
        self._runs = runs
        self._summaries: dict[str, pl.DataFrame] = {}

    def __iter__(self) -> Iterator[tuple[str, pl.DataFrame]]:
        for run in self._runs:
            name = run.path.name
            if name not in self._summaries:
                self._summaries[name] = _summary(run)
            yield name, self._summaries[name]


def _summary(run: RunDirectory) -> pl.DataFrame:
    earlier = with_cost(read_results(run.path), run_prices(run.path))
    return with_score_columns(summarize(earlier), earlier, load_scores(run.path))
