"""`beta-runner history`: an experiment's runs over time, one row each, with per-arm metrics."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console

from runner.analysis import summarize
from runner.analysis.cost import with_cost
from runner.analysis.history import DEFAULT_METRICS, RunSummary, history
from runner.analysis.runs import run_prices
from runner.analysis.thresholds import metric_names
from runner.cli.commands.options import results_option
from runner.cli.terminal import render_table
from runner.config.load import load_experiment
from runner.errors import RunStoreError, UsageError
from runner.results.store import RunDirectory, list_runs, read_results


@click.command(name="history")
@click.argument("experiment")
@results_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help=f"A per-arm metric to show (repeatable; default: {', '.join(DEFAULT_METRICS)}).",
)
def history_command(
    experiment: str, results_dir: Path, output_format: str, metrics: Sequence[str]
) -> None:
    """One row per run of EXPERIMENT (a TOML file or an experiment name), oldest first."""
    chosen = tuple(metrics) or DEFAULT_METRICS
    unknown = [m for m in chosen if m not in metric_names()]
    if unknown:
        raise UsageError(
            f"--metric {unknown[0]!r} is not a per-arm metric; known: {', '.join(metric_names())}."
        )
    name = _experiment_name(experiment)
    runs = list_runs(results_dir, name)
    if not runs:
        raise RunStoreError(f"There is no run of {name!r} under {results_dir}.")
    summaries = []
    for run in runs:
        try:
            summaries.append(_summary(run))
        except RunStoreError as exc:
            click.echo(f"warning: skipped a run that cannot be read: {exc}", err=True)
    if not summaries:
        raise RunStoreError(f"No run of {name!r} under {results_dir} can be read.")
    frame = history(summaries, chosen)
    if output_format == "csv":
        sys.stdout.write(frame.write_csv())
    elif output_format == "json":
        sys.stdout.write(frame.write_json() + "\n")
    else:
        Console(width=200).print(render_table(frame, f"{name}: history"))


def _experiment_name(experiment: str) -> str:
    if experiment.endswith(".toml") or Path(experiment).is_file():
        return load_experiment(Path(experiment)).experiment.name
    return experiment


def _summary(run: RunDirectory) -> RunSummary:
    manifest = run.read_manifest()
    return RunSummary(
        run_id=manifest.run_id,
        started_at=manifest.started_at.isoformat(),
        status=str(manifest.status),
        summary=summarize(with_cost(read_results(run.path), run_prices(run.path))),
    )
