"""`beta-runner check`: does the target accept every arm's beta header? Sends no messages."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click
import polars as pl

from runner.cli.commands.options import command_log, log_format_option
from runner.cli.failure import error_line, one_line
from runner.cli.terminal import fit_table, out_console
from runner.config.environment import Environment
from runner.config.load import load_experiment
from runner.config.types import Experiment
from runner.run.launch import api_key_for, check_base_url_flag, target_url
from runner.run.preflight import REJECTED, UNREACHABLE, HeaderCheck, check_experiment


@click.command("check")
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option("--local", is_flag=True, help="Check against the built-in emulator.")
@click.option("--base-url", help="Check against this server instead of the experiment's.")
@log_format_option
@click.pass_context
def check_command(
    ctx: click.Context, experiment: Path, local: bool, base_url: str | None, log_format: str | None
) -> None:
    """Check each arm's anthropic-beta header per model with a free count_tokens call.

    Exit 0 when every arm is accepted; 1 when any is rejected or unreachable (the target
    could not say whether the header works).
    """
    check_base_url_flag(local, base_url)
    env = Environment.from_os()
    loaded = load_experiment(experiment, env_base_url=env.base_url)
    log = command_log(ctx, log_format)
    for warning in loaded.warnings:
        log.warning(warning)
    with target_url(local, base_url) as url:
        target = _at(loaded.experiment, url) if url else loaded.experiment
        checks = check_experiment(target, api_key_for(target, env, local=local))
    out = out_console()
    title = f"{target.name}: beta headers"
    out.print(fit_table(out, check_table(checks), title, whole=("arm", "model")))
    unreachable = [c for c in checks if c.verdict == UNREACHABLE]
    if unreachable:
        click.echo(
            error_line(
                f"{len(unreachable)} of {len(checks)} checks got no usable answer from "
                f"{target.target.base_url}: {_short(unreachable[0].message)}"
            ),
            err=True,
        )
    failed = unreachable or any(c.verdict == REJECTED for c in checks)
    sys.exit(1 if failed else 0)


def check_table(checks: list[HeaderCheck]) -> pl.DataFrame:
    """One row per arm x model: header, verdict, the server's message."""
    return pl.DataFrame(
        {
            "arm": [c.arm for c in checks],
            "model": [c.model for c in checks],
            "anthropic-beta": [c.beta_header or "(none)" for c in checks],
            "verdict": [c.verdict for c in checks],
            "message": [_short(c.message) for c in checks],
        }
    )


_LONGEST = 300  # a server may answer pages (HTML, echoed headers): show where it starts


def _short(message: str) -> str:
    """A server's message on one line (control characters shown escaped), cut at 300."""
    line = one_line(message)
    return line if len(line) <= _LONGEST else line[: _LONGEST - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _at(experiment: Experiment, base_url: str) -> Experiment:
    target = dataclasses.replace(experiment.target, base_url=base_url.rstrip("/"))
    return dataclasses.replace(experiment, target=target)
