"""`beta-runner check`: does the target accept every arm's beta header? Sends no messages."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import polars as pl
from rich.console import Console

from runner.config import Experiment
from runner.emulator import EmulatorServer
from runner.environment import Environment
from runner.errors import UsageError
from runner.experiment_file import load_experiment
from runner.launch import LOCAL_KEY
from runner.preflight import REJECTED, HeaderCheck, check_experiment
from runner.terminal import render_table


@click.command("check")
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option("--local", is_flag=True, help="Check against the built-in emulator.")
@click.option("--base-url", help="Check against this server instead of the experiment's.")
def check_command(experiment: Path, local: bool, base_url: str | None) -> None:
    """Check each arm's anthropic-beta header per model with a free count_tokens call.

    Exit 0 when every arm is accepted (or unreachable), 1 when any is rejected.
    """
    if local and base_url:
        raise UsageError("Use either --local or --base-url, not both.")
    env = Environment.from_os()
    loaded = load_experiment(experiment, env_base_url=env.base_url).experiment
    with _target(loaded, local, base_url) as target:
        key = LOCAL_KEY if local else _api_key(target, env)
        checks = check_experiment(target, key)
    Console(width=200).print(render_table(check_table(checks), f"{target.name}: beta headers"))
    sys.exit(1 if any(c.verdict == REJECTED for c in checks) else 0)


def check_table(checks: list[HeaderCheck]) -> pl.DataFrame:
    """One row per arm x model: header, verdict, the server's message."""
    return pl.DataFrame(
        {
            "arm": [c.arm for c in checks],
            "model": [c.model for c in checks],
            "anthropic-beta": [c.beta_header or "(none)" for c in checks],
            "verdict": [c.verdict for c in checks],
            "message": [c.message for c in checks],
        }
    )


@contextmanager
def _target(experiment: Experiment, local: bool, base_url: str | None) -> Iterator[Experiment]:
    if not local:
        yield _at(experiment, base_url) if base_url else experiment
        return
    with EmulatorServer() as server:
        yield _at(experiment, server.url)


def _at(experiment: Experiment, base_url: str) -> Experiment:
    target = dataclasses.replace(experiment.target, base_url=base_url.rstrip("/"))
    return dataclasses.replace(experiment, target=target)


def _api_key(experiment: Experiment, env: Environment) -> str:
    key = env.api_key(experiment.target.api_key_env)
    if key is None:
        raise UsageError(
            f"The environment variable {experiment.target.api_key_env} (named by [target] "
            f"api_key_env in {experiment.path}) is not set; export your API key in it, or use "
            "--local to check against the built-in emulator."
        )
    return key
