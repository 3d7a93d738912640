"""Command-line options that several subcommands share, defined once."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from runner.cli.logs import FORMATS, TEXT, EventLog

results_option = click.option(
    "--results",
    "results_dir",
    type=click.Path(path_type=Path),
    default="results",
    show_default=True,
    help="The directory that holds run directories (results/<experiment>/<run id>).",
)

fail_on_option = click.option(
    "--fail-on",
    multiple=True,
    metavar="EXPR",
    help="Exit 1 when a threshold is crossed, e.g. 'error_rate>0.05', "
    "'delta.p50_latency_ms>+20%', 'regress.p95_latency_ms>+10%' (repeatable).",
)

emulator_option = click.option(
    "--emulator",
    "emulator_settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="With --local: an emulator setting (see `beta-runner emulate --help`).",
)

log_format_option = click.option(
    "--log-format",
    type=click.Choice(FORMATS),
    help="Logs on stderr: text, or json (one object per line). Default: the group's option.",
)


def chosen_log_format(ctx: click.Context, log_format: str | None) -> str:
    """The command's --log-format, else the group's (`beta-runner --log-format json CMD`)."""
    if log_format is not None:
        return log_format
    root = ctx.find_root().params.get("log_format")
    return root if isinstance(root, str) else TEXT


def command_log(
    ctx: click.Context, log_format: str | None, secrets: Sequence[str | None] = ()
) -> EventLog:
    """The event log on stderr in the chosen format."""
    return EventLog(chosen_log_format(ctx, log_format), sys.stderr, secrets)
