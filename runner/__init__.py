"""beta-runner: what changes when you turn on an Anthropic API beta feature.

The names below are the public surface for notebooks and scripts; everything else is internal.

The names are imported when first used (PEP 562), so that importing one part of the package
(a script or benchmark using `runner.run.session`, say) does not also load the analysis (numpy,
every query module) and the emulator; `from runner import X` and `runner.X` work as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    from runner.config.types import (
        Arm,
        Case,
        Experiment,
        RateLimits,
        RetryPolicy,
        RunSettings,
        Target,
    )
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

_HOMES = {
    "COMPARE_COLUMNS": "runner.analysis",
    "UnknownBaseline": "runner.analysis",
    "compare": "runner.analysis",
    "default_baseline": "runner.analysis",
    "error_rates": "runner.analysis",
    "evidence_report": "runner.analysis",
    "load_run": "runner.analysis",
    "scan_runs": "runner.analysis",
    "side_by_side": "runner.analysis",
    "summarize": "runner.analysis",
    "CONVERSATION_METRICS": "runner.analysis.conversation",
    "conversation_summary": "runner.analysis.conversation",
    "per_turn": "runner.analysis.conversation",
    "with_cost": "runner.analysis.cost",
    "ModelPrice": "runner.catalog.prices",
    "PriceTable": "runner.catalog.prices",
    "LoadedExperiment": "runner.config.load",
    "load_experiment": "runner.config.load",
    "default_prices": "runner.config.prices",
    "load_prices": "runner.config.prices",
    "Arm": "runner.config.types",
    "Case": "runner.config.types",
    "Experiment": "runner.config.types",
    "RateLimits": "runner.config.types",
    "RetryPolicy": "runner.config.types",
    "RunSettings": "runner.config.types",
    "Target": "runner.config.types",
    "BetaRunnerError": "runner.errors",
    "ConfigError": "runner.errors",
    "RequestFailed": "runner.errors",
    "RunFailed": "runner.errors",
    "RunStoreError": "runner.errors",
    "ThresholdsCrossed": "runner.errors",
    "UsageError": "runner.errors",
    "ATTEMPTS_SCHEMA": "runner.results.schema",
    "RESULTS_SCHEMA": "runner.results.schema",
    "SCHEMA_VERSION": "runner.results.schema",
    "TURNS_SCHEMA": "runner.results.schema",
    "A": "runner.results.schema",
    "R": "runner.results.schema",
    "T": "runner.results.schema",
    "read_attempts": "runner.results.store",
    "read_judge_requests": "runner.results.store",
    "read_results": "runner.results.store",
    "read_scores": "runner.results.store",
    "read_turns": "runner.results.store",
    "RunHandle": "runner.run.experiment",
    "arun_experiment": "runner.run.experiment",
    "run_experiment": "runner.run.experiment",
    "Score": "runner.scoring",
    "ScoreInput": "runner.scoring",
}


def __getattr__(name: str) -> object:
    """Import a public name from its module at first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'runner' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
