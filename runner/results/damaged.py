"""Parts that are not whole Parquet files: found, described, and set aside for inspection.

Parts are written to a temporary name and renamed, so only a failing disk, a power cut before
the data reached it, or a copy cut short leaves one damaged. `damaged_parts` lists a run's
parts whose footer cannot be read; whoever continues the run reads around them, and recovery
renames each to `<name>.damaged` (kept for inspection, never read again) with one warning
naming it and what it costs the run:

- a results part: the requests whose final rows it held have none, so they are sent again;
- an attempts or turns part: the requests whose result counts more attempts or turns than
  remain are sent again (`runner.run.resume` compares them);
- a scores or judge-requests part: its scores are gone until `beta-runner score` runs again.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

SET_ASIDE = ".damaged"
RESULTS, ATTEMPTS, TURNS = "results", "attempts", "turns"


def damaged_parts(parts: Path) -> list[Path]:
    """The parts in the directory `parts` whose Parquet footer cannot be read, in order."""
    damaged = []
    for part in sorted(parts.glob("*.parquet")):
        try:
            pl.read_parquet_schema(part)
        except (pl.exceptions.PolarsError, OSError):
            damaged.append(part)
    return damaged


def part_kind(part: Path) -> str:
    """The table a part (or a set-aside part) belongs to: `results-000002.parquet` -> results."""
    return part.name.rsplit("-", 1)[0]


def part_number(part: Path) -> int:
    """The number of a part (or a set-aside part): `results-000002.parquet` -> 2."""
    return int(part.name.rsplit("-", 1)[1].split(".", 1)[0])


def kinds_damaged(parts: Path) -> set[str]:
    """The tables that have lost a part in `parts`: damaged now, or set aside earlier."""
    lost = damaged_parts(parts) + list(parts.glob(f"*.parquet{SET_ASIDE}"))
    return {part_kind(part) for part in lost}


def set_aside(part: Path) -> str:
    """Rename the damaged `part` to `<name>.damaged`; the warning that says so and what for."""
    kept = part.with_name(part.name + SET_ASIDE)
    part.rename(kept)
    return (
        f"{part}: not a whole Parquet file (a kill or a failing disk while it was written?); "
        f"set aside as {kept.name} for inspection; {_cost(part_kind(part))}."
    )


def _cost(kind: str) -> str:
    if kind == RESULTS:
        return "its requests are sent again"
    if kind in (ATTEMPTS, TURNS):
        return f"the requests whose {kind} it held are sent again"
    return f"its {kind.replace('_', ' ')} are lost until `beta-runner score` runs on the run again"
