"""Frames as HTML tables and numbers as text: escaped, formatted, classed."""

from __future__ import annotations

import math

import polars as pl
import pytest

from runner.report.numbers import format_number, format_share
from runner.report.tables import html_table


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "\N{EM DASH}"),
        (math.nan, "\N{EM DASH}"),
        (True, "yes"),
        (1234, "1,234"),
        (1234.5, "1,234"),
        (12.345, "12.3"),
        (0.0, "0"),
        (0.012345, "0.0123"),
    ],
    ids=["none", "nan", "bool", "int", "big", "medium", "zero", "small"],
)
def test_format_number(value: float | int | None, text: str) -> None:
    """Numbers get as many digits as their size needs; missing values are a dash."""
    assert format_number(value) == text


def test_format_share_is_a_percentage() -> None:
    """Shares are percentages with one decimal."""
    assert (format_share(0.1234), format_share(None)) == ("12.3%", "\N{EM DASH}")


def test_table_escapes_cells_and_headers_and_marks_numbers() -> None:
    """Every header and cell is escaped; numeric cells are right-aligned."""
    frame = pl.DataFrame({"<col>": ["<script>x</script>"], "n": [3], "tags": [["a", "b"]]})
    html = html_table(frame, table_id="t")
    assert html.startswith('<div class="scroll"><table id="t" class="data">')
    assert "<th>&lt;col&gt;</th>" in html
    assert "<td>&lt;script&gt;x&lt;/script&gt;</td>" in html
    assert '<td class="num">3</td>' in html
    assert "<td>a, b</td>" in html


def test_table_applies_formats_and_row_classes() -> None:
    """A column format replaces the default text and a row class lands on the <tr>."""
    frame = pl.DataFrame({"flag": [True, False]})
    html = html_table(
        frame,
        formats={"flag": lambda v: "Y" if v else "N"},
        row_class=lambda row: "hit" if row["flag"] else "",
    )
    assert '<tr class="hit"><td>Y</td></tr>' in html
    assert "<tr><td>N</td></tr>" in html


def test_a_float_column_shares_its_decimals() -> None:
    """A float column's values share the decimals its finest needs (the terminal's rule):
    1.000 beside 0.833 and 12.000, never 1.0 beside 1 for 0.9996."""
    frame = pl.DataFrame({"score": [1.0, 0.833, 12.0, 0.9996, None]})
    cells = [td.split("<")[0] for td in html_table(frame).split('<td class="num">')[1:]]
    assert cells == ["1.000", "0.833", "12.000", "1.000"]
    assert "<td>\N{EM DASH}</td>" in html_table(frame)
