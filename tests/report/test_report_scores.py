"""Which cases the output browser offers as "arms disagree on a score", and the badges shown."""

from __future__ import annotations

import polars as pl

from runner.report.scores import CellScore, disagreeing_cases, score_badges
from runner.results.schema import R, S


def _keyed(rows: list[tuple[str, str, str, float, bool | None]]) -> pl.DataFrame:
    """Scores with their keys, from (case, arm, scorer, value, passed); one model, repeat 0."""
    return pl.DataFrame(
        [
            {R.case_id: case, R.model: "m", R.repeat: 0, R.arm: arm, S.scorer: scorer,
             S.value: value, S.passed: passed}
            for case, arm, scorer, value, passed in rows
        ]
    )  # fmt: skip


def test_pass_fail_disagreements_and_pairwise_preferences_mark_a_case() -> None:
    """Two arms and a baseline: a case is marked when pass/fail differs between any arms, or a
    pairwise judge (no baseline rows) preferred one answer; agreement and ties are not."""
    keyed = _keyed(
        [
            ("same", "baseline", "correct", 1.0, True),
            ("same", "a", "correct", 1.0, True),
            ("same", "b", "correct", 1.0, True),
            ("same", "a", "preferred", 0.5, None),
            ("same", "b", "preferred", 0.5, None),
            ("flip", "baseline", "correct", 1.0, True),
            ("flip", "a", "correct", 1.0, True),
            ("flip", "b", "correct", 0.0, False),
            ("judged", "baseline", "correct", 1.0, True),
            ("judged", "a", "correct", 1.0, True),
            ("judged", "b", "correct", 1.0, True),
            ("judged", "a", "preferred", 0.5, None),
            ("judged", "b", "preferred", 0.0, None),
        ]
    )
    assert disagreeing_cases(keyed, "baseline") == {"flip", "judged"}


def test_badges_say_pass_fail_value_error_and_why() -> None:
    """Each score is one line: the scorer, pass/fail (value) or the value, and the explanation."""
    html = score_badges(
        [
            CellScore("correct", 0.0, False, "missing '17'", None),
            CellScore("grade", 7.0, None, None, None),
            CellScore("custom", None, None, None, "checks:grade raised KeyError"),
        ]
    )
    assert "<b>correct</b>: fail (0) - missing &#x27;17&#x27;" in html
    assert "<b>grade</b>: 7" in html
    assert 'class="score error"' in html
