"""`beta-runner betas`: the beta catalog."""

from __future__ import annotations

import click
import polars as pl

from runner.catalog.betas import catalog
from runner.cli.commands.options import log_format_option
from runner.cli.terminal import fit_table, out_console


@click.command()
@log_format_option
def betas(log_format: str | None) -> None:
    """List the known beta names, what each does and what it needs in a request."""
    entries = sorted(catalog().values(), key=lambda b: b.name)
    table = pl.DataFrame(
        {
            "name": [b.name for b in entries],
            "status": [b.status for b in entries],
            "description": [b.description for b in entries],
            "needs": [b.needs for b in entries],
        }
    )
    out = out_console()
    out.print(fit_table(out, table, "anthropic-beta names"))
