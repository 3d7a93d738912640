"""Polars frames as HTML tables: escaped cells, numbers formatted and right-aligned.

Every table sits in its own horizontally scrolling box (`div.scroll`), so a wide table scrolls
inside the page instead of overflowing it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

import polars as pl

from runner.report.numbers import format_number

Formatter = Callable[[Any], str]
RowClass = Callable[[dict[str, Any]], str]
RowText = Callable[[dict[str, Any]], str]


def html_table(
    frame: pl.DataFrame,
    *,
    table_id: str = "",
    formats: Mapping[str, Formatter] | None = None,
    row_class: RowClass | None = None,
    empty: RowText | None = None,
) -> str:
    """`frame` as a <table>: a header row of column names, one <tr> per row, every cell escaped.

    `formats` maps a column to a function from value to text; `row_class` gives each row a
    CSS class (an empty string for none); `empty` gives the text of a missing (null) cell from
    its row (default: a dash)."""
    header = "".join(f"<th>{escape(name)}</th>" for name in frame.columns)
    rows = [
        _row(row, frame.columns, formats or {}, row_class, empty)
        for row in frame.iter_rows(named=True)
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
    columns: Sequence[str],
    formats: Mapping[str, Formatter],
    row_class: RowClass | None,
    empty: RowText | None,
) -> str:
    cells = []
    for name in columns:
        value = row[name]
        if value is None and empty is not None:
            text = empty(row)
        else:
            text = formats[name](value) if name in formats else cell_text(value)
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
