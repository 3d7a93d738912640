"""`beta-runner plan`: the request matrix of an experiment, with nothing sent."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl
from rich.console import Console

from runner.cli.terminal import render_table
from runner.config.environment import Environment
from runner.config.load import load_experiment
from runner.config.prices import experiment_prices, load_prices
from runner.config.types import Experiment
from runner.plan.estimate import Estimate, estimate


@click.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option("--prices", type=click.Path(path_type=Path), help="A price TOML overriding prices.")
def plan(experiment: Path, prices: Path | None) -> None:
    """Show EXPERIMENT's arms, models, cases, request count, estimated cost and duration;
    send nothing."""
    loaded = load_experiment(experiment, env_base_url=Environment.from_os().base_url)
    err = Console(stderr=True)
    for warning in loaded.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    exp = loaded.experiment
    out = Console(width=200)
    out.print(render_table(arm_table(exp), f"{exp.name}: arms"))
    click.echo(
        f"{len(exp.cases)} cases x {len(exp.models)} models ({', '.join(exp.models)}) x "
        f"{len(exp.arms)} arms x {exp.run.repeats} repeats = {exp.request_count} requests"
    )
    click.echo(f"target: {exp.target.base_url} (anthropic-version {exp.target.anthropic_version})")
    base = experiment_prices(exp.prices)
    click.echo(estimate_text(estimate(exp, load_prices(prices, base) if prices else base)))


def estimate_text(figures: Estimate) -> str:
    """The estimate as two sentences."""
    cost = (
        f"estimated cost: about ${figures.cost_typical_usd:,.4f} with typical answers, "
        f"at most ${figures.cost_max_usd:,.4f} if every answer reaches max_tokens"
    )
    if figures.unpriced:
        cost += f" (no price for {', '.join(figures.unpriced)}; pass --prices FILE)"
    minutes = figures.duration_s / 60.0
    return f"{cost}\nestimated duration: about {minutes:,.1f} min at {figures.rpm} requests/min"


def arm_table(experiment: Experiment) -> pl.DataFrame:
    """One row per arm: its header value, body overrides and extra headers, request count."""
    per_arm = len(experiment.cases) * len(experiment.models) * experiment.run.repeats
    return pl.DataFrame(
        {
            "arm": [a.name for a in experiment.arms],
            "anthropic-beta": [a.beta_header or "(none)" for a in experiment.arms],
            "request overrides": [", ".join(sorted(a.request)) for a in experiment.arms],
            "headers": [", ".join(sorted(a.headers)) for a in experiment.arms],
            "requests": [per_arm] * len(experiment.arms),
        }
    )
