"""Polars frames as HTML tables: escaped cells, numbers formatted and right-aligned.

Numbers follow the rule of `runner.report.numbers` (the terminal's tables' too): a float
column's values share their decimals, and so do a row's `together` columns in a table whose
rows are different metrics (1.000 beside 0.833, never 1.0 beside 1).

Every table sits in its own horizontally scrolling box (`div.scroll`), so a wide table scrolls
inside the page instead of overflowing it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

import polars as pl

from runner.report.numbers import Formatter, format_number, table_texts

RowClass = Callable[[dict[str, Any]], str]
RowText = Callable[[dict[str, Any]], str]


def html_table(
    frame: pl.DataFrame,
    *,
    table_id: str = "",
    formats: Mapping[str, Formatter] | None = None,
    row_class: RowClass | None = None,
    empty: RowText | None = None,
    together: Sequence[str] = (),
) -> str:
    """`frame` as a <table>: a header row of column names, one <tr> per row, every cell escaped.

    `formats` maps a column to a function from value to text; `row_class` gives each row a
    CSS class (an empty string for none); `empty` gives the text of a missing (null) cell from
    its row (default: a dash); `together` columns share a row's decimals (see the module)."""
    header = "".join(f"<th>{escape(name)}</th>" for name in frame.columns)
    texts = table_texts(frame, formats=formats, together=together, plain=cell_text)
    rows = [
        _row(row, dict(zip(frame.columns, shown, strict=True)), row_class, empty)
        for row, shown in zip(frame.iter_rows(named=True), zip(*texts, strict=True), strict=True)
    ]
    ident = f' id="{escape(table_id)}"' if table_id else ""
    return (
        f'<div class="scroll"><table{ident} class="data"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def cell_text(value: Any) -> str:
    """The text of one cell: numbers formatted, lists joined, missing values as a dash."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if value is None or isinstance(value, (int, float)):
        return format_number(value)
    return str(value)


def _row(
    row: dict[str, Any],
    texts: Mapping[str, str],
    row_class: RowClass | None,
    empty: RowText | None,
) -> str:
    cells = []
    for name, shown in texts.items():
        value = row[name]
        text = empty(row) if value is None and empty is not None else shown
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        cells.append(
            f'<td class="num">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"
        )
    css = row_class(row) if row_class else ""
    return (
        f'<tr class="{escape(css)}">' + "".join(cells) + "</tr>"
        if css
        else f"<tr>{''.join(cells)}</tr>"
    )
