"""beta-runner: what changes when you turn on an Anthropic API beta feature.

The names below are the public surface for notebooks and scripts; everything else is internal.
"""

from __future__ import annotations

from runner.analysis import summarize
from runner.config import Arm, Case, Experiment, RateLimits, RetryPolicy, RunSettings, Target
from runner.errors import BetaRunnerError, ConfigError, RequestFailed, RunStoreError, UsageError
from runner.experiment_file import LoadedExperiment, load_experiment
from runner.records import ATTEMPTS_SCHEMA, RESULTS_SCHEMA, SCHEMA_VERSION, A, R
from runner.store import read_attempts, read_results

__all__ = [
    "A",
    "ATTEMPTS_SCHEMA",
    "Arm",
    "BetaRunnerError",
    "Case",
    "ConfigError",
    "Experiment",
    "LoadedExperiment",
    "R",
    "RESULTS_SCHEMA",
    "RateLimits",
    "RequestFailed",
    "RetryPolicy",
    "RunSettings",
    "RunStoreError",
    "SCHEMA_VERSION",
    "Target",
    "UsageError",
    "load_experiment",
    "read_attempts",
    "read_results",
    "summarize",
]
