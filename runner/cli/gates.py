"""Checking a finished run against `--fail-on` thresholds (for `run` and `compare` alike).

Evaluates the thresholds over the run's per-arm summary, its baseline arm and the previous
complete run of the same experiment in the same results directory, logs each crossed threshold
and raises ThresholdsCrossed (exit 1) when any is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from runner.analysis import default_baseline, summarize
from runner.analysis.cost import with_cost
from runner.analysis.runs import load_scores, run_prices
from runner.analysis.scores import scorer_names, with_score_columns
from runner.analysis.thresholds import Threshold, Violation, check_score_metrics, evaluate
from runner.cli.logs import EventLog
from runner.cli.translate import flag_errors
from runner.errors import ThresholdsCrossed
from runner.results.store import SHARD_PREFIX, previous_complete, read_results


def check_thresholds(
    thresholds: Sequence[Threshold], run_dir: Path, results: pl.LazyFrame, log: EventLog
) -> None:
    """Raise ThresholdsCrossed naming every crossed threshold; `results` are the run's, priced.

    The previous run is looked for beside `run_dir` (`<results>/<experiment>/<run id>`).
    """
    violations = _violations(thresholds, run_dir, results, log)
    for violation in violations:
        fields = {"model": violation.model, "arm": violation.arm}
        fields["metric"] = violation.threshold.metric
        log.event("threshold_crossed", {**fields, "message": violation.message()}, "error")
    if violations:
        raise ThresholdsCrossed(tuple(v.message() for v in violations))


def _violations(
    thresholds: Sequence[Threshold], run_dir: Path, results: pl.LazyFrame, log: EventLog
) -> list[Violation]:
    run = run_dir.parent if run_dir.name.startswith(SHARD_PREFIX) else run_dir
    experiment = run.parent.name
    previous = previous_complete(run.parent.parent, experiment, run)
    before: pl.DataFrame | None = None
    if previous is not None:
        earlier = with_cost(read_results(previous.path), run_prices(previous.path))
        before = with_score_columns(summarize(earlier), earlier, load_scores(previous.path))
    elif any(t.kind == "regress" for t in thresholds):
        log.warning(f"No earlier complete run of {experiment!r}: regress.* is not checked.")
    label = f"run {previous.path.name}" if previous is not None else ""
    baseline = default_baseline(results)
    scores = load_scores(run_dir)
    with flag_errors():
        check_score_metrics(thresholds, scorer_names(scores) if scores is not None else [])
    current = with_score_columns(summarize(results), results, scores)
    return evaluate(thresholds, current, baseline_arm=baseline, previous=before, previous_run=label)
