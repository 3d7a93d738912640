"""`beta-runner betas`: the beta catalog."""

from __future__ import annotations

import click
import polars as pl
from rich.padding import Padding
from rich.text import Text

from runner.catalog.betas import catalog
from runner.cli.commands.options import log_format_option
from runner.cli.terminal import fits, out_console, render_table, say


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
    whole = render_table(table, "anthropic-beta names")
    if fits(out, whole):
        out.print(whole)
        return
    # Too narrow for four columns: one block per beta, its name on a line of its own.
    say(out, "anthropic-beta names")
    for entry in entries:
        out.print(Text(f"\n{entry.name}  ({entry.status})", style="bold"))
        out.print(Padding(Text(f"{entry.description}\nneeds: {entry.needs}"), (0, 0, 0, 2)))
