"""What the terminal shows: readable numbers, and a progress bar only when it should draw."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest
from e2e_support import run_cli
from rich.console import Console

from runner.cli.scoring import score_table
from runner.cli.terminal import render_table, wants_progress
from runner.report.numbers import shared_decimals


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


def test_score_means_and_pass_rates_have_three_decimals_each() -> None:
    """A mean of 1.0 reads 1.000 beside 0.500 and 0.667 (not `1`), a missing one a dash."""
    frame = pl.DataFrame(
        {"scorer": ["a", "b", "c", "d"], "mean": [1.0, 0.5, 2 / 3, None], "pass_rate": [1.0] * 4}
    )
    console = Console(file=io.StringIO(), width=80)
    console.print(score_table(console, frame, "scores"))
    rows = console.file.getvalue().splitlines()[-5:-1]  # type: ignore[attr-defined]
    assert [_words(row)[1:] for row in rows] == [
        ["1.000", "1.000"], ["0.500", "1.000"], ["0.667", "1.000"], ["-", "1.000"],
    ]  # fmt: skip


@pytest.mark.usefixtures("keyed")
def test_the_quickstart_prints_its_score_means_with_three_decimals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The table a first run shows: every scorer row ends `1.000 1.000`, never `1 1`."""
    experiment = Path(__file__).parents[2] / "experiments" / "quickstart.toml"
    instant = ["--emulator", "ttft_ms=0", "--emulator", "ms_per_output_token=0"]  # scores only
    assert run_cli(["run", experiment, "--local", "-q", *instant]) == 0
    out = capsys.readouterr().out
    rows = [_words(line) for line in out.splitlines() if " correct " in line]
    assert len(rows) == 6
    assert all(row[-2:] == ["1.000", "1.000"] for row in rows)


def test_a_float_column_shares_its_decimals_so_one_reads_1_000_beside_0_667() -> None:
    """Every table: a column's floats take the decimals its finest value needs for three
    significant digits (at least one), so 1.0 is never a bare `1` among 0.667 and 0.5."""
    frame = pl.DataFrame({"rate": [1.0, 2 / 3, 0.5, None], "ms": [234.91, 42.0, 0.0, 1.5]})
    console = Console(file=io.StringIO(), width=80)
    console.print(render_table(frame))
    rows = console.file.getvalue().splitlines()[3:-1]  # type: ignore[attr-defined]
    assert [_words(row) for row in rows] == [
        ["1.000", "234.9"], ["0.667", "42.0"], ["0.500", "0.0"], ["-", "1.5"],
    ]  # fmt: skip


def test_rows_of_different_metrics_share_decimals_along_the_row() -> None:
    """`together` columns (compare's baseline, value, delta, CI) take one row's decimals: a
    score row reads 1.0 / 1.0 / 0.0, a rate row 0.833 / 0.000, not 1 / 0."""
    frame = pl.DataFrame(
        {"metric": ["score.a", "rate", "ms"], "base": [1.0, 0.833, 234.9], "arm": [1.0, 0.0, 42.0]}
    )
    console = Console(file=io.StringIO(), width=80)
    console.print(render_table(frame, together=("base", "arm")))
    rows = console.file.getvalue().splitlines()[3:-1]  # type: ignore[attr-defined]
    assert [_words(row) for row in rows] == [
        ["score.a", "1.0", "1.0"], ["rate", "0.833", "0.000"], ["ms", "234.9", "42.0"],
    ]  # fmt: skip
    assert shared_decimals([None, float("nan"), 0.0]) == 1


def _words(line: str) -> list[str]:
    """A table row's cells (box lines dropped)."""
    return [word for word in line.split() if word != "│"]
