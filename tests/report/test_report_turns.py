"""The report's per-turn section: per model and measure, one row per turn, the arms side by side."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from runner.analysis.conversation import PER_TURN_COLUMNS
from runner.report.turns import MEASURES, arms_side_by_side, turns_section


def _by_turn(rows: list[tuple[str, str, int, float]]) -> pl.DataFrame:
    """A `per_turn` frame with the given (model, arm, turn, mean context tokens) rows."""
    data = {name: [None] * len(rows) for name in PER_TURN_COLUMNS}
    data.update(
        model=[r[0] for r in rows], arm=[r[1] for r in rows], turn=[r[2] for r in rows],
        mean_context_tokens=[r[3] for r in rows], conversations=[4] * len(rows),
    )  # fmt: skip
    return pl.DataFrame(data).with_columns(pl.col("^mean_.*$").cast(pl.Float64))


def test_each_turn_is_a_row_with_one_column_per_arm_in_experiment_order() -> None:
    """Arms in the given order, others after; a turn an arm never reached is null, not 0."""
    rows = [("m", "beta", 1, 300.0), ("m", "baseline", 1, 300.0), ("m", "baseline", 2, 900.0)]
    table = arms_side_by_side(_by_turn(rows), "mean_context_tokens", ["baseline", "beta"])
    expected = pl.DataFrame({"turn": [1, 2], "baseline": [300.0, 900.0], "beta": [300.0, None]})
    assert_frame_equal(table, expected, check_dtypes=False)


def test_the_section_titles_say_what_is_counted_and_missing_turns_read_as_a_dash() -> None:
    """Per model a table per measure, the context one naming its parts; unreached: a dash."""
    rows = [("m", "baseline", 1, 300.0), ("m", "baseline", 2, 1234.5), ("m", "beta", 1, 310.0)]
    html = turns_section(_by_turn(rows), ["baseline", "beta"])
    assert "<h3>m</h3>" in html
    assert "Context tokens per turn (input + cache read + cache write), mean" in html
    assert html.count("<h4>") == len(MEASURES)
    assert '<td class="num">1,234.5</td><td>\N{EM DASH}</td>' in html


def test_a_run_without_conversations_says_so() -> None:
    """Only one-turn requests (or no turns table): one line instead of tables."""
    assert "No conversation cases" in turns_section(_by_turn([("m", "a", 1, 5.0)]), ["a"])
    assert "No conversation cases" in turns_section(_by_turn([]), ["a"])
