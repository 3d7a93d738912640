"""`beta-runner betas`: the beta catalog."""

from __future__ import annotations

import click
import polars as pl
from rich.console import Console

from runner.catalog.betas import catalog
from runner.cli.terminal import render_table


@click.command()
def betas() -> None:
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
    Console(width=220).print(render_table(table, "anthropic-beta names"))
