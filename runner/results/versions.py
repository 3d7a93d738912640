"""Which schema versions of a run this beta-runner reads, and how an older run's rows read.

A run records the `SCHEMA_VERSION` it was written with (its manifest's `schema_version`).
This beta-runner reads runs of `OLDEST_READABLE` to `SCHEMA_VERSION`; each version after
`OLDEST_READABLE` only added nullable columns, listed in `ADDED_COLUMNS`. An older run's
tables lack them, and read as null there ("not measured", never 0): Parquet tables are
scanned with the current schema and missing columns inserted as null (`runner.results.store`),
and a journal's rows, which are values in column order, are read with the columns their
version had (`version_of_width`, `columns_at`). A resumed older run is written in the current
shape from then on, and its manifest says the current version (`Manifest.resumed`).

Adding a column: bump `SCHEMA_VERSION` and list the column under the new version here. A
change that is not a new nullable column (a renamed, retyped or reordered column) cannot be
read this way: raise `OLDEST_READABLE` to the new version instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import polars as pl

from runner.results.schema import SCHEMA_VERSION, A, R

OLDEST_READABLE: Final = 3
# The nullable columns each version added (a name here is new to every table that has it).
ADDED_COLUMNS: Final[Mapping[int, tuple[str, ...]]] = {
    4: (R.connect_ms, A.connect_ms),  # attempts and results: time spent getting a connection
}


def readable(version: int) -> str | None:
    """Why a run of schema `version` cannot be read by this beta-runner (None: it can)."""
    if OLDEST_READABLE <= version <= SCHEMA_VERSION:
        return None
    reads = f"this beta-runner reads versions {OLDEST_READABLE} to {SCHEMA_VERSION}"
    if version > SCHEMA_VERSION:
        return f"is {version}, written by a newer beta-runner; {reads}: upgrade it to read this run"
    return (
        f"is {version}, written by an older beta-runner; {reads}: read this run with the "
        "beta-runner that wrote it (its manifest's versions name it)"
    )


def columns_at(schema: pl.Schema, version: int) -> pl.Schema:
    """The columns of `schema` (a current table's) that a run of schema `version` wrote."""
    added = {name for v, names in ADDED_COLUMNS.items() if v > version for name in names}
    return pl.Schema({name: dtype for name, dtype in schema.items() if name not in added})


def version_of_width(schema: pl.Schema, width: int) -> int | None:
    """The newest readable version whose rows of `schema`'s table (a current table's) have
    `width` values; None when none had rows that wide."""
    for version in range(SCHEMA_VERSION, OLDEST_READABLE - 1, -1):
        if len(columns_at(schema, version)) == width:
            return version
    return None
