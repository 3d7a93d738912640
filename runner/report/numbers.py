"""How numbers are shown to a reader, in the report and in the terminal's tables: short,
aligned, and never `nan` or `None`.

The numbers of one quantity (a column, or a row of a table whose rows are different metrics)
share their decimals: `shared_decimals` gives the decimals that show each of them to three
significant digits, and `fixed_decimals` prints a number with them, so a score of 1.0 reads
1.000 beside 0.833, never 1. `format_number` is for a number standing alone. `table_texts`
applies the rule to a frame's cells, for the report's tables and the terminal's alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

Formatter = Callable[[Any], str]
_Column = Callable[[list[Any]], list[str]]  # a column's values -> their texts

MISSING = "\N{EM DASH}"


def format_number(value: float | int | None) -> str:
    """A number with as many digits as its size needs: 1,234 / 12.3 / 0.0123; a dash if missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.1f}"
    if magnitude == 0:
        return "0"
    return f"{value:.3g}"


def format_share(value: float | None) -> str:
    """A share between 0 and 1 as a percentage with one decimal; a dash if missing."""
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{100 * value:.1f}%"


def shared_decimals(values: Sequence[object]) -> int:
    """The decimals that show every float of `values` to three significant digits (one
    decimal from 100 up, at least one, at most six), so 1.0 reads 1.000 beside 0.667."""
    needed = [_decimals(v) for v in values if isinstance(v, float) and math.isfinite(v)]
    return max([1, *needed])


def _decimals(value: float) -> int:
    if abs(value) >= 100 or value == 0:
        return 1
    shown = f"{value:.{_MAX_DECIMALS}f}".rstrip("0")
    digits = 2 - math.floor(math.log10(abs(value)))
    return min(_MAX_DECIMALS, digits, len(shown.partition(".")[2]))


_MAX_DECIMALS = 6


def fixed_decimals(value: float, decimals: int) -> str:
    """A finite float with `decimals` decimals (thousands separated from 100 up; three
    significant digits below a millionth, which six decimals would show as 0)."""
    if abs(value) >= 100:
        return f"{value:,.{decimals}f}"
    if value != 0 and abs(value) < 10**-_MAX_DECIMALS:
        return f"{value:.3g}"
    return f"{value:.{decimals}f}"


def format_fixed(value: object, decimals: int) -> str:
    """A float by `fixed_decimals`, a dash if missing; other values as `format_number`."""
    if isinstance(value, float) and math.isfinite(value):
        return fixed_decimals(value, decimals)
    if value is None or isinstance(value, (int, float)):
        return format_number(value)
    return str(value)


def table_texts(
    frame: pl.DataFrame,
    *,
    formats: Mapping[str, Formatter] | None = None,
    together: Sequence[str] = (),
    fixed: Callable[[object, int], str] = format_fixed,
    plain: Formatter = format_number,
) -> list[list[str]]:
    """Each column's cells as text: a `formats` column by its own function; the `together`
    columns (a table whose rows are different metrics) with their row's shared decimals; any
    other float column with the column's; the rest by `plain`. `fixed(value, decimals)`
    prints a value with given decimals (`format_fixed`, or a table's own way with missing).
    A `together` cell holding a list (an `interval_column`) reads `[low, high]`."""
    joint = [name for name in together if name in frame.columns]
    per_row = [shared_decimals(_flat(values)) for values in frame.select(joint).iter_rows()]
    own: dict[str, _Column] = {name: _row_decimals(fixed, per_row) for name in joint}
    own.update({name: _each(formatter) for name, formatter in (formats or {}).items()})
    floats, rest = _column_decimals(fixed), _each(plain)
    return [
        own.get(name, floats if dtype.is_float() else rest)(frame[name].to_list())
        for name, dtype in frame.schema.items()
    ]


def _each(formatter: Formatter) -> _Column:
    return lambda values: [formatter(value) for value in values]


def _column_decimals(fixed: Callable[[object, int], str]) -> _Column:
    def texts(values: list[Any]) -> list[str]:
        decimals = shared_decimals(values)
        return [fixed(value, decimals) for value in values]

    return texts


def _row_decimals(fixed: Callable[[object, int], str], per_row: Sequence[int]) -> _Column:
    return lambda values: [_joint(fixed, v, d) for v, d in zip(values, per_row, strict=True)]


INTERVAL = "95% CI"


def interval_column(low: str = "ci_low", high: str = "ci_high") -> pl.Expr:
    """The interval as one cell, `[low, high]` (null when both bounds are): in `together`,
    `table_texts` prints its bounds in the decimals of the rest of its row."""
    missing = pl.col(low).is_null() & pl.col(high).is_null()
    return pl.when(missing).then(None).otherwise(pl.concat_list(low, high)).alias(INTERVAL)


def _flat(values: Sequence[object]) -> list[object]:
    return [v for value in values for v in (value if isinstance(value, list) else [value])]


def _joint(fixed: Callable[[object, int], str], value: object, decimals: int) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(fixed(v, decimals) for v in value) + "]"
    return fixed(value, decimals)
