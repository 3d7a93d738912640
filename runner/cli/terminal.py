"""What a person sees in the terminal: a progress bar while running, tables at the end.

The progress bar draws only on a terminal (stderr is a TTY) and never with --quiet.
"""

from __future__ import annotations

from types import TracebackType
from typing import TextIO

import polars as pl
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from runner.results.schema import STATUS_OK, ResultRow


class ProgressBar:
    """A `ResultObserver` that advances a rich progress bar per finished request."""

    def __init__(self, total: int, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]requests"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[errors]} errors"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("run", total=total, errors=0)
        self._errors = 0

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def result(self, row: ResultRow) -> None:
        """Advance by one finished request."""
        self._errors += row.status != STATUS_OK
        self._progress.update(self._task, advance=1, errors=self._errors)


def wants_progress(stream: TextIO, quiet: bool) -> bool:
    """Draw a progress bar only on a terminal and when not told to be quiet."""
    return not quiet and stream.isatty()


def render_table(frame: pl.DataFrame, title: str | None = None) -> Table:
    """A rich table of a polars frame; floats rounded for reading."""
    table = Table(title=title, header_style="bold")
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left")
    for row in frame.iter_rows():
        table.add_row(*(_cell(value) for value in row))
    return table


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        # Large figures to one decimal; small ones (costs, rates, p-values) to 3 significant.
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
