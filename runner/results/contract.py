"""How a row dataclass becomes a table: its polars schema, its values, its frames.

`register(RowType, NameTable)` walks the dataclass's fields in order (a field whose type is a
dataclass is a row part: its fields take its place), maps each type hint to a polars dtype
(`str` -> String, `int` -> Int64, `Int32` -> Int32, `float` -> Float64, `bool` -> Boolean,
`datetime` -> UTC microseconds, `list[X]` -> List, `X | None` -> the same, nullable), checks
that the name table's `Final` strings (its own and its bases', bases first) are exactly those
column names in that order, and records the table so `rows_to_frame` can turn its rows into a
frame. The tables themselves are declared in `runner.results.schema`.
"""

from __future__ import annotations

import dataclasses
import json
import operator
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

import polars as pl

Int32 = Annotated[int, pl.Int32()]
"""An integer column stored as 32 bits (counts and small codes)."""

_SCALARS: dict[type, pl.DataType] = {
    str: pl.String(),
    int: pl.Int64(),
    float: pl.Float64(),
    bool: pl.Boolean(),
    datetime: pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class Table:
    """One table's contract: its row type, its schema, and how to read a row's columns."""

    row_type: type
    schema: pl.Schema
    values: Callable[[object], tuple[object, ...]]  # every column at once, in schema order


_TABLES: dict[type, Table] = {}


def register(row_type: type, names: type) -> Table:
    """Derive `row_type`'s schema, check `names` lists its columns, and register the table."""
    columns = _columns(row_type, "")
    column_names = [path.rpartition(".")[2] for path, _ in columns]
    declared = [
        (k, v)
        for cls in reversed(names.__mro__[:-1])  # a name table may extend another's names
        for k, v in vars(cls).items()
        if not k.startswith("_")
    ]

    if declared != [(name, name) for name in column_names]:
        differ = sorted({k for k, _ in declared} ^ set(column_names)) or "their order"
        raise RuntimeError(f"{names.__name__} and {row_type.__name__} differ: {differ}")
    schema = pl.Schema(dict(zip(column_names, (dtype for _, dtype in columns), strict=True)))
    paths = [path for path, _ in columns]
    values = _values_getter(paths)
    table = Table(row_type, schema, values)
    _TABLES[row_type] = table
    return table


def _values_getter(paths: list[str]) -> Callable[[object], tuple[object, ...]]:
    """Every column's value of a row at once, as a tuple (`attrgetter` of one path returns
    the bare value)."""
    if len(paths) > 1:
        return operator.attrgetter(*paths)
    get = operator.attrgetter(paths[0])
    return lambda row: (get(row),)


def _columns(row_type: type, prefix: str) -> list[tuple[str, pl.DataType]]:
    """(attribute path, dtype) per column of `row_type`, row parts flattened in place."""
    hints = get_type_hints(row_type, include_extras=True)
    columns: list[tuple[str, pl.DataType]] = []
    for field in dataclasses.fields(row_type):
        hint = hints[field.name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            columns.extend(_columns(hint, f"{prefix}{field.name}."))
        else:
            columns.append((f"{prefix}{field.name}", _dtype(hint)))
    return columns


def _dtype(hint: Any) -> pl.DataType:
    """The polars dtype of one field's type hint (see the module docstring)."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        (inner,) = (arg for arg in get_args(hint) if arg is not type(None))
        return _dtype(inner)
    if origin is Annotated:
        dtype: pl.DataType = hint.__metadata__[0]
        return dtype
    if origin is list:
        return pl.List(_dtype(get_args(hint)[0]))
    return _SCALARS[hint]


def rows_to_frame(rows: Sequence[object], schema: pl.Schema) -> pl.DataFrame:
    """Build a frame with exactly `schema` from rows of one registered type (none: 0 rows)."""
    if not rows:
        return pl.DataFrame(schema=schema)
    table = _TABLES[type(rows[0])]
    if table.schema != schema:
        raise ValueError(f"{type(rows[0]).__name__} rows do not have the schema asked for")
    # One C-level read of every value per row, transposed into columns by `zip` (a Python
    # loop per column over every row cost most of a part's build).
    columns = zip(*map(table.values, rows), strict=True)
    series = [
        _series(name, list(values), dtype)
        for (name, dtype), values in zip(schema.items(), columns, strict=True)
    ]
    return pl.DataFrame(series, schema=schema)


# A timestamp as a number: microseconds since EPOCH, `(value - EPOCH) // MICROSECOND` (the
# journal's encoding too).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
_JSON_INNER = (pl.String(), pl.Int64(), pl.Int32())


def _series(name: str, values: list[object], dtype: pl.DataType) -> pl.Series:
    """One column of `dtype`, by the quickest route that keeps the values exactly."""
    try:
        if isinstance(dtype, pl.List) and dtype.inner in _JSON_INNER:
            decoded = pl.Series(name, [json.dumps(values)]).str.json_decode(pl.List(dtype))
            exploded = decoded.explode()
            if exploded.to_list() == values:
                return exploded
        if isinstance(dtype, pl.Datetime) and dtype.time_unit == "us":
            micros = [None if v is None else (v - EPOCH) // MICROSECOND for v in values]  # type: ignore[operator]
            return pl.Series(name, micros, dtype=pl.Int64()).cast(dtype)
    except (TypeError, ValueError, pl.exceptions.PolarsError):
        pass  # a value only polars' own reading takes (or rejects, saying why)
    return pl.Series(name, values, dtype=dtype)


def table_of(row_type: type) -> Table:
    """The registered table of `row_type` (KeyError for a type never registered)."""
    return _TABLES[row_type]


def row_values(row: object) -> list[object]:
    """One row's column values, in its table's schema order (row parts flattened)."""
    return list(_TABLES[type(row)].values(row))
