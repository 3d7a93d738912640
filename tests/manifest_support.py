"""Support for tests that need a run directory: a valid manifest for a tiny experiment."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from runner.config.types import Arm, Case, Experiment
from runner.results.manifest import Manifest, RunStatus, new_manifest
from runner.results.store import RunDirectory

STARTED = datetime(2026, 1, 1, tzinfo=UTC)


def tiny_experiment(name: str = "exp") -> Experiment:
    """One model, one baseline arm, one case."""
    case = Case("c0", ({"role": "user", "content": "Hi."},))
    return Experiment(name, Path(f"{name}.toml"), ("claude-opus-4-6",), (Arm("baseline"),), (case,))


def manifest_for(
    run_id: str,
    *,
    experiment: str = "exp",
    status: RunStatus = RunStatus.COMPLETE,
    started_at: datetime = STARTED,
) -> Manifest:
    """A whole, valid manifest of a run of `tiny_experiment(experiment)`."""
    made = new_manifest(tiny_experiment(experiment), run_id, started_at, 1)
    return dataclasses.replace(made, status=status)


def make_run(
    results_dir: Path,
    run_id: str,
    *,
    experiment: str = "exp",
    status: RunStatus = RunStatus.COMPLETE,
    started_at: datetime = STARTED,
) -> RunDirectory:
    """A new run directory `<results_dir>/<experiment>/<run_id>` holding a valid manifest."""
    manifest = manifest_for(run_id, experiment=experiment, status=status, started_at=started_at)
    return RunDirectory.create(results_dir, experiment, run_id, manifest)
