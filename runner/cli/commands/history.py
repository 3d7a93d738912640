"""`beta-runner history`: an experiment's runs over time, one row each, with per-arm metrics."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click
import polars as pl

from runner.analysis import summarize
from runner.analysis.cost import with_cost
from runner.analysis.history import DEFAULT_METRICS, RunSummary, history, history_rows
from runner.analysis.runs import experiment_runs, run_manifest, run_prices
from runner.analysis.thresholds import metric_names
from runner.cli.commands.options import command_log, log_format_option, results_option
from runner.cli.terminal import fit_table, fits, out_console, render_table
from runner.config.load import load_experiment
from runner.config.names import name_problem
from runner.errors import RunStoreError, UsageError
from runner.results.store import read_results


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
@log_format_option
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help=f"A per-arm metric to show (repeatable; default: {', '.join(DEFAULT_METRICS)}).",
)
@click.pass_context
def history_command(
    ctx: click.Context,
    experiment: str,
    results_dir: Path,
    output_format: str,
    log_format: str | None,
    metrics: Sequence[str],
) -> None:
    """One row per run of EXPERIMENT (a TOML file or an experiment name), oldest first."""
    chosen = tuple(metrics) or DEFAULT_METRICS
    unknown = [m for m in chosen if m not in metric_names()]
    if unknown:
        raise UsageError(
            f"--metric {unknown[0]!r} is not a per-arm metric; known: {', '.join(metric_names())}."
        )
    name = _experiment_name(experiment)
    runs = experiment_runs(results_dir, name)
    if not runs:
        raise RunStoreError(f"There is no run of {name!r} under {results_dir}.")
    log = command_log(ctx, log_format)
    summaries = []
    for run in runs:
        try:
            summaries.append(_summary(run))
        except RunStoreError as exc:
            log.warning(f"skipped a run that cannot be read: {exc}")
    if not summaries:
        raise RunStoreError(f"No run of {name!r} under {results_dir} can be read.")
    frame = history(summaries, chosen)
    if output_format == "csv":
        sys.stdout.write(frame.write_csv())
    elif output_format == "json":
        sys.stdout.write(frame.write_json() + "\n")
    else:
        _print_history(name, history_rows(summaries, chosen))


def _experiment_name(experiment: str) -> str:
    if experiment.endswith(".toml") or Path(experiment).is_file():
        return load_experiment(Path(experiment)).experiment.name
    problem = name_problem(experiment, "EXPERIMENT (an experiment name)")
    if problem is not None:
        raise UsageError(problem)
    return experiment


def _summary(run: Path) -> RunSummary:
    manifest = run_manifest(run)
    return RunSummary(
        run_id=manifest.run_id,
        started_at=manifest.started_at.isoformat(),
        status=str(manifest.status),
        summary=summarize(with_cost(read_results(run), run_prices(run))),
    )


def _print_history(name: str, rows: pl.DataFrame) -> None:
    """One table of every (run, model, arm); per run when that is too wide for the terminal."""
    out = out_console()
    whole = render_table(rows, f"{name}: history", HISTORY_HEADERS)
    if fits(out, whole):
        out.print(whole)
        return
    for (run_id, status), part in rows.partition_by(
        "run_id", "status", maintain_order=True, as_dict=True
    ).items():
        title = f"{name}: run {run_id} ({status})"
        out.print(fit_table(out, part.drop("run_id", "status"), title, HISTORY_HEADERS))


HISTORY_HEADERS = {
    "run_id": "run", "requests": "n", "ok": "ok", "errors": "err", "error_rate": "err rate",
    "p50_latency_ms": "p50 ms", "p95_latency_ms": "p95 ms", "p50_ttft_ms": "ttft ms",
    "mean_output_tokens": "out tok", "cost_usd": "cost $",
}  # fmt: skip
