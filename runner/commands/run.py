"""`beta-runner run`: run an experiment and print the per-arm summary."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console

from runner.analysis import summarize
from runner.emulator_settings import emulator_config
from runner.environment import Environment
from runner.errors import UsageError
from runner.launch import LaunchOptions, prepare_run, start_run
from runner.store import read_results
from runner.terminal import ProgressBar, render_table, wants_progress
from runner.writer import ResultObserver


@click.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option("--local", is_flag=True, help="Run against the built-in emulator (no key needed).")
@click.option("--base-url", help="Send requests to this server instead of the experiment's.")
@click.option(
    "--results",
    "results_dir",
    type=click.Path(path_type=Path),
    default="results",
    show_default=True,
    help="Where run directories are written.",
)
@click.option("--run-id", help="Name the run directory (default: UTC time + random suffix).")
@click.option("--concurrency", type=int, help="Override [run] concurrency.")
@click.option(
    "--emulator",
    "emulator_settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="With --local: an emulator setting (see `beta-runner emulate --help`).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def run(
    experiment: Path,
    local: bool,
    base_url: str | None,
    results_dir: Path,
    run_id: str | None,
    concurrency: int | None,
    emulator_settings: Sequence[str],
    quiet: bool,
) -> None:
    """Run EXPERIMENT and print the per-arm summary."""
    if emulator_settings and not local:
        raise UsageError("--emulator settings only apply with --local.")
    options = LaunchOptions(
        experiment,
        results_dir,
        local,
        base_url,
        run_id,
        concurrency,
        emulator_config(emulator_settings),
    )
    prepared = prepare_run(options, Environment.from_os())
    err = Console(stderr=True)
    for warning in prepared.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    with _progress(prepared.experiment.request_count, quiet, err) as observer:
        outcome = start_run(prepared, options, observer)
    table = summarize(read_results(outcome.run_dir))
    Console(width=200).print(render_table(table, f"{prepared.experiment.name}: per-arm summary"))
    click.echo(
        f"Run {outcome.status}: {outcome.counts['requests']} requests, "
        f"{outcome.counts['errors']} errors, written to {outcome.run_dir}"
    )
    sys.exit(outcome.exit_code)


@contextmanager
def _progress(total: int, quiet: bool, console: Console) -> Iterator[ResultObserver | None]:
    if not wants_progress(sys.stderr, quiet):
        yield None
        return
    with ProgressBar(total, console) as bar:
        yield bar
