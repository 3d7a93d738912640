"""Text features: word-set Jaccard and each answer's comparison with its own next repeat."""

from __future__ import annotations

import polars as pl
import pytest
from frames import results, row

from runner.analysis.similarity import (
    SELF_EXACT,
    SELF_SIMILARITY,
    SELF_STOP_SHIFT,
    with_jaccard,
    with_text_features,
)
from runner.results.schema import R


def _features(*rows: dict[str, object]) -> pl.DataFrame:
    frame = (
        results(*rows)
        .lazy()
        .select(R.run_id, R.case_id, R.model, R.arm, R.repeat, R.status, R.text, R.stop_reason)
    )
    return with_text_features(frame).collect()


def test_each_repeat_is_compared_with_the_next_and_the_last_with_the_one_before() -> None:
    """Rows in any order: repeat i against i + 1 of its own cell, the last against the one
    before; the rows come back in their own order, without the text."""
    texts = {0: "a b c", 1: "a b d", 2: "a b d", 3: "x y"}
    stops = {3: "max_tokens"}
    rows = [row(repeat=r, text=t, stop_reason=stops.get(r, "end_turn")) for r, t in texts.items()]
    other_cell = row(arm="beta", repeat=0, text="a b c")
    table = _features(rows[2], other_cell, rows[0], rows[3], rows[1])
    assert R.text not in table.columns
    assert table[R.repeat].to_list() == [2, 0, 0, 3, 1]
    by_repeat = {(r[R.arm], r[R.repeat]): r for r in table.iter_rows(named=True)}
    assert by_repeat[("baseline", 0)][SELF_SIMILARITY] == pytest.approx(2 / 4)
    assert by_repeat[("baseline", 1)][SELF_EXACT] == 1.0
    assert by_repeat[("baseline", 2)][SELF_SIMILARITY] == 0.0
    last = by_repeat[("baseline", 3)]
    assert (last[SELF_SIMILARITY], last[SELF_EXACT], last[SELF_STOP_SHIFT]) == (0.0, 0.0, 1.0)
    alone = by_repeat[("beta", 0)]
    assert (alone[SELF_SIMILARITY], alone[SELF_EXACT], alone[SELF_STOP_SHIFT]) == (None,) * 3


def test_a_failed_repeat_leaves_both_comparisons_that_touch_it_undefined() -> None:
    """An error is never compared as text: its own figures and its neighbour's are null."""
    table = _features(row(repeat=0), row(repeat=1, status="error", error_type="overloaded"))
    assert table[SELF_SIMILARITY].to_list() == [None, None]
    assert table[SELF_EXACT].to_list() == [None, None]


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [([1, 2, 3], [2, 3, 4], 2 / 4), ([], [], 1.0), ([1], [], 0.0), ([5], [5], 1.0)],
    ids=["overlap", "both-empty", "one-empty", "same"],
)
def test_jaccard_is_shared_over_union(left: list[int], right: list[int], expected: float) -> None:
    """|A & B| / |A | B| of two word sets, 1.0 for two empty ones."""
    frame = pl.LazyFrame(
        {"a": [left], "b": [right]}, schema={"a": pl.List(pl.UInt64), "b": pl.List(pl.UInt64)}
    )
    found = with_jaccard(frame, pl.col("a"), pl.col("b"), "j").collect()["j"].item()
    assert found == pytest.approx(expected)
