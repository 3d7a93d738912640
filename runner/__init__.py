"""beta-runner: what changes when you turn on an Anthropic API beta feature.

The names below are the public surface for notebooks and scripts; everything else is internal.
"""

from __future__ import annotations

from runner.analysis import (
    COMPARE_COLUMNS,
    UnknownBaseline,
    compare,
    default_baseline,
    error_rates,
    evidence_report,
    load_run,
    scan_runs,
    side_by_side,
    summarize,
)
from runner.analysis.conversation import CONVERSATION_METRICS, conversation_summary, per_turn
from runner.analysis.cost import with_cost
from runner.catalog.prices import ModelPrice, PriceTable
from runner.config.load import LoadedExperiment, load_experiment
from runner.config.prices import default_prices, load_prices
from runner.config.types import Arm, Case, Experiment, RateLimits, RetryPolicy, RunSettings, Target
from runner.errors import (
    BetaRunnerError,
    ConfigError,
    RequestFailed,
    RunFailed,
    RunStoreError,
    ThresholdsCrossed,
    UsageError,
)
from runner.results.schema import (
    ATTEMPTS_SCHEMA,
    RESULTS_SCHEMA,
    SCHEMA_VERSION,
    TURNS_SCHEMA,
    A,
    R,
    T,
)
from runner.results.store import (
    read_attempts,
    read_judge_requests,
    read_results,
    read_scores,
    read_turns,
)
from runner.run.experiment import RunHandle, arun_experiment, run_experiment
from runner.scoring import Score, ScoreInput

__all__ = [
    "ATTEMPTS_SCHEMA",
    "COMPARE_COLUMNS",
    "CONVERSATION_METRICS",
    "RESULTS_SCHEMA",
    "SCHEMA_VERSION",
    "TURNS_SCHEMA",
    "A",
    "Arm",
    "BetaRunnerError",
    "Case",
    "ConfigError",
    "Experiment",
    "LoadedExperiment",
    "ModelPrice",
    "PriceTable",
    "R",
    "RateLimits",
    "RequestFailed",
    "RetryPolicy",
    "RunFailed",
    "RunHandle",
    "RunSettings",
    "RunStoreError",
    "Score",
    "ScoreInput",
    "T",
    "Target",
    "ThresholdsCrossed",
    "UnknownBaseline",
    "UsageError",
    "arun_experiment",
    "compare",
    "conversation_summary",
    "default_baseline",
    "default_prices",
    "error_rates",
    "evidence_report",
    "load_experiment",
    "load_prices",
    "load_run",
    "per_turn",
    "read_attempts",
    "read_judge_requests",
    "read_results",
    "read_scores",
    "read_turns",
    "run_experiment",
    "scan_runs",
    "side_by_side",
    "summarize",
    "with_cost",
]
