"""Command-line options that several subcommands share, defined once."""

from __future__ import annotations

from pathlib import Path

import click

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
