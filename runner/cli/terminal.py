"""What a person sees in the terminal: a progress bar while running, tables at the end.

The progress bar draws only on a terminal (stderr is a TTY) and never with --quiet.
Consoles take rich's own width detection (the terminal's size; `COLUMNS` when set, which is
also how to ask for wide output into a pipe; 80 otherwise). `fit_table` keeps a table within
that width by dropping the least important columns, named in a caption, rather than wrapping
every header. Every cell, title and line is plain `Text`: user text is never read as markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TextIO

import polars as pl
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from runner.report.numbers import fixed_decimals, table_texts
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


def out_console() -> Console:
    """The console for stdout, as wide as the terminal (or `COLUMNS`)."""
    return Console(highlight=False)


def err_console() -> Console:
    """The console for stderr, as wide as the terminal (or `COLUMNS`)."""
    return Console(stderr=True, highlight=False)


def say(console: Console, text: str) -> None:
    """Print `text` as plain text (no markup), wrapped to the console's width."""
    console.print(Text(text))


def render_table(
    frame: pl.DataFrame,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    compact: bool = False,
    whole: Sequence[str] = (),
    formats: Mapping[str, Callable[[object], str]] | None = None,
    together: Sequence[str] = (),
) -> Table:
    """A rich table of a polars frame; floats rounded for reading; `headers` renames columns.

    `compact` draws only a rule under the header, which saves a character per column; the
    `whole` columns (names a reader looks rows up by) never wrap: the others wrap first;
    `formats` gives a column its own way of showing a value. Otherwise the numbers of one
    quantity share their decimals (`shared_decimals`): a float column's, or, across the
    `together` columns, a row's (a table whose rows are different metrics).
    """
    names = headers or {}
    table = Table(title=Text(title) if title else None, header_style="bold")
    if compact:
        table.box, table.pad_edge, table.padding = box.SIMPLE_HEAD, False, (0, 1, 0, 0)
        table.show_edge = False
    for name, dtype in frame.schema.items():
        numeric = dtype.is_numeric() and dtype != pl.Boolean
        table.add_column(
            Text(names.get(name, name)),
            justify="right" if numeric else "left",
            overflow="ellipsis" if numeric else "fold",
            no_wrap=name in whole,
        )
    for row in zip(*table_cells(frame, formats or {}, together), strict=True):
        table.add_row(*(Text(text) for text in row))
    return table


def table_cells(
    frame: pl.DataFrame,
    formats: Mapping[str, Callable[[object], str]] | None = None,
    together: Sequence[str] = (),
) -> list[list[str]]:
    """Each column's cells as text, by the rule `render_table` states (for any table a person
    reads: the terminal's, and compare's Markdown)."""
    return table_texts(frame, formats=formats, together=together, fixed=fixed_cell, plain=_cell)


def fits(console: Console, table: Table) -> bool:
    """Whether `table` fits the console's width without wrapping any cell."""
    natural = console.measure(table, options=console.options.update_width(10_000))
    return natural.maximum <= console.width


def fit_table(
    console: Console,
    frame: pl.DataFrame,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    droppable: Sequence[str] = (),
    whole: Sequence[str] = (),
    formats: Mapping[str, Callable[[object], str]] | None = None,
    together: Sequence[str] = (),
) -> Table:
    """`render_table` fitted to the console's width: boxed if it fits, else compact, dropping
    columns of `droppable` (first listed first) until it fits; a caption names what was hidden.
    """

    def render(frame: pl.DataFrame, compact: bool) -> Table:
        kept = whole if compact else ()  # the boxed table is kept only when nothing wraps
        return render_table(
            frame, title, headers, compact=compact, whole=kept, formats=formats, together=together
        )

    table = render(frame, compact=False)
    if fits(console, table):
        return table
    hidden: list[str] = []
    table = render(frame, compact=True)
    for column in droppable:
        if fits(console, table):
            break
        if column in frame.columns:
            frame = frame.drop(column)
            hidden.append(column)
            table = render(frame, compact=True)
    if hidden:
        table.caption = Text(
            f"not shown at {console.width} columns: {', '.join(hidden)} "
            "(widen the terminal, or set COLUMNS)"
        )
    return table


def cell(value: object) -> str:
    """One value as the tables show it."""
    return _cell(value)


def fixed_cell(value: object, decimals: int = 3) -> str:
    """A finite float by the shared rule (`runner.report.numbers.fixed_decimals`: 1.000
    beside 0.667, never 1), anything else as `cell` shows it."""
    if not isinstance(value, float) or not math.isfinite(value):
        return _cell(value)
    return fixed_decimals(value, decimals)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        # Large figures to one decimal; small ones (costs, rates, p-values) to 3 significant.
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
