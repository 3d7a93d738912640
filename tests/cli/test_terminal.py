"""What the terminal shows: readable numbers, and a progress bar only when it should draw."""

from __future__ import annotations

import io

import polars as pl
import pytest
from rich.console import Console

from runner.cli.terminal import render_table, wants_progress


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param(1234.5678, "1,234.6", id="large-one-decimal"),
        pytest.param(33.61, "33.6", id="medium"),
        pytest.param(0.000214, "0.000214", id="small-cost-kept"),
        pytest.param(None, "-", id="missing"),
    ],
)
def test_numbers_are_rounded_for_reading_without_losing_small_ones(
    value: float | None, shown: str
) -> None:
    """Costs of a fraction of a cent do not collapse to 0.0."""
    frame = pl.DataFrame({"figure": [value]}, schema={"figure": pl.Float64})
    console = Console(file=io.StringIO(), width=80)
    console.print(render_table(frame))
    assert shown in console.file.getvalue()  # type: ignore[attr-defined]


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.mark.parametrize(
    ("tty", "quiet", "expected"),
    [(True, False, True), (True, True, False), (False, False, False)],
    ids=["terminal", "quiet", "not-a-terminal"],
)
def test_progress_bar_only_on_a_terminal_and_not_quiet(
    tty: bool, quiet: bool, expected: bool
) -> None:
    """The bar draws on a TTY unless --quiet; never into a pipe or a log file."""
    assert wants_progress(_Stream(tty), quiet) is expected
