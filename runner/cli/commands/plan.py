"""`beta-runner plan`: the request matrix of an experiment, with nothing sent."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from runner.cli.commands.options import command_log, log_format_option
from runner.cli.terminal import fit_table, out_console, say
from runner.config.environment import Environment
from runner.config.load import load_experiment
from runner.config.prices import load_prices
from runner.config.types import Experiment
from runner.plan.estimate import Estimate, estimate


@click.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option("--prices", type=click.Path(path_type=Path), help="A price TOML overriding prices.")
@log_format_option
@click.pass_context
def plan(ctx: click.Context, experiment: Path, prices: Path | None, log_format: str | None) -> None:
    """Show EXPERIMENT's arms, models, cases, request count, estimated cost and duration;
    send nothing."""
    log = command_log(ctx, log_format)
    loaded = load_experiment(experiment, env_base_url=Environment.from_os().base_url)
    for warning in loaded.warnings:
        log.warning(warning)
    exp = loaded.experiment
    out = out_console()
    title = f"{exp.name}: arms"
    out.print(fit_table(out, arm_table(exp), title, droppable=PLAN_DROPPABLE, whole=("arm",)))
    say(
        out,
        f"{len(exp.cases)} cases x {len(exp.models)} models ({', '.join(exp.models)}) x "
        f"{len(exp.arms)} arms x {exp.run.repeats} repeats = {exp.request_count} requests",
    )
    talking = [case for case in exp.cases if case.conversation]
    if talking:
        most = max(case.max_turns for case in talking)
        say(
            out,
            f"{len(talking)} of the cases are conversations: each request is a tool loop or "
            f"scripted turns of up to {most} requests to the model (max_turns)",
        )
    say(out, f"target: {exp.target.base_url} (anthropic-version {exp.target.anthropic_version})")
    base = exp.prices
    for line in estimate_text(estimate(exp, load_prices(prices, base) if prices else base)):
        say(out, line)


def estimate_text(figures: Estimate) -> tuple[str, str]:
    """The estimate as two sentences."""
    cost = (
        f"estimated cost: about ${figures.cost_typical_usd:,.4f} with typical answers, "
        f"at most ${figures.cost_max_usd:,.4f} if every answer reaches max_tokens"
    )
    if figures.unpriced:
        cost += f" (no price for {', '.join(figures.unpriced)}; pass --prices FILE)"
    minutes = figures.duration_s / 60.0
    return cost, f"estimated duration: about {minutes:,.1f} min at {figures.rpm} requests/min"


# Empty columns go first when the table is too wide for the terminal.
PLAN_DROPPABLE = ("headers", "request overrides")


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
