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
    "ATTEMPTS_SCHEMA",
    "RESULTS_SCHEMA",
    "SCHEMA_VERSION",
    "A",
    "Arm",
    "BetaRunnerError",
    "Case",
    "ConfigError",
    "Experiment",
    "LoadedExperiment",
    "R",
    "RateLimits",
    "RequestFailed",
    "RetryPolicy",
    "RunSettings",
    "RunStoreError",
    "Target",
    "UsageError",
    "load_experiment",
    "read_attempts",
    "read_results",
    "summarize",
]
