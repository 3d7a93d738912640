"""Scores in `compare`: paired score deltas, exact McNemar p-values, pairwise win rates, pass
rates beside graded values; Benjamini-Hochberg q-values; output-change rows that never read
"identical" as a change; minimum detectable effects."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from frames import results, row

from runner.analysis import compare
from runner.analysis.multiple import ALPHA, q_values
from runner.analysis.score_pairs import exact_sign_p
from runner.results.schema import SCORES_SCHEMA, R

WORDS = list("abcdef")


def _scores(entries: list[tuple[str, str, float | None, bool | None]]) -> pl.DataFrame:
    """Score rows from (request_key, scorer, value, passed)."""
    return pl.DataFrame(
        [
            {"request_key": k, "scorer": s, "fingerprint": "f", "value": v, "passed": p,
             "explanation": None, "error": None}
            for k, s, v, p in entries
        ],
        schema=SCORES_SCHEMA,
    )  # fmt: skip


def _pairs(
    n: int, arm_pass: list[bool], base_pass: list[bool]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = [row(case_id=f"c{i}") for i in range(n)] + [
        row(case_id=f"c{i}", arm="beta") for i in range(n)
    ]
    frame = results(*rows)
    keys = frame[R.request_key].to_list()
    flags = base_pass + arm_pass
    return frame, _scores([(k, "correct", float(f), f) for k, f in zip(keys, flags, strict=True)])


def _metric(table: pl.DataFrame, metric: str, arm: str = "beta") -> dict[str, object]:
    (found,) = table.filter((pl.col("metric") == metric) & (pl.col(R.arm) == arm)).to_dicts()
    return found


@pytest.mark.parametrize(
    ("up", "down", "p"),
    [(0, 0, 1.0), (0, 8, 2 / 256), (1, 8, 2 * 10 / 512), (5, 5, 1.0), (3, 0, 0.25)],
    ids=["none", "0-8", "1-8", "5-5", "3-0"],
)
def test_the_exact_sign_test_is_the_two_sided_binomial(up: int, down: int, p: float) -> None:
    """McNemar's exact test on discordant pairs, by hand: 2 x P(X <= min) at p = 1/2."""
    assert exact_sign_p(up, down) == pytest.approx(p)


def test_a_pass_fail_drop_is_a_paired_delta_with_an_exact_p_value() -> None:
    """10 of 30 pairs flip from pass to fail: delta -1/3, CI below 0, McNemar p = 2/1024."""
    base = [True] * 30
    arm = [False] * 10 + [True] * 20
    frame, scores = _pairs(30, arm, base)
    found = _metric(compare(frame, scores=scores), "score.correct")
    assert (found["baseline"], found["n"]) == (1.0, 30)
    assert found["value"] == pytest.approx(2 / 3)
    assert found["delta"] == pytest.approx(-1 / 3)
    assert found["ci_high"] < 0  # type: ignore[operator]
    assert found["p_value"] == pytest.approx(2 / 1024)
    assert found["significant"] is True
    assert found["mde"] > 0  # type: ignore[operator]


def test_score_rows_follow_each_groups_metric_rows() -> None:
    """The table is the usual metrics, then score.<name>, with q_value and mde columns."""
    frame, scores = _pairs(4, [True] * 4, [True] * 4)
    table = compare(frame, scores=scores)
    assert table["metric"].to_list()[-1] == "score.correct"
    assert {"q_value", "mde"} <= set(table.columns)
    assert _metric(table, "score.correct")["delta"] == 0.0


def test_a_pairwise_judge_gives_a_win_rate_against_even() -> None:
    """Wins 1, ties 0.5, losses 0 on the arm only: value the win rate, baseline 0.5, sign test."""
    frame = results(*[row(case_id=f"c{i}") for i in range(12)],
                    *[row(case_id=f"c{i}", arm="beta") for i in range(12)])  # fmt: skip
    arm_keys = frame.filter(pl.col(R.arm) == "beta")[R.request_key].to_list()
    verdicts = [0.0] * 9 + [0.5] * 3
    scores = _scores([(k, "preferred", v, None) for k, v in zip(arm_keys, verdicts, strict=True)])
    found = _metric(compare(frame, scores=scores), "score.preferred")
    assert (found["baseline"], found["n"]) == (0.5, 12)
    assert found["value"] == pytest.approx(1.5 / 12)
    assert found["p_value"] == pytest.approx(2 / 512)
    assert found["ci_high"] < 0  # type: ignore[operator]


def test_a_graded_scorer_with_pass_fail_also_gets_a_pass_rate_row() -> None:
    """Grades 0-10 with pass at 7: score.graded (mean grade) and score.graded.pass_rate."""
    frame = results(*[row(case_id=f"c{i}") for i in range(6)],
                    *[row(case_id=f"c{i}", arm="beta") for i in range(6)])  # fmt: skip
    grades = [9.0, 8.0, 9.0, 7.0, 8.0, 9.0, 3.0, 8.0, 2.0, 7.0, 1.0, 9.0]
    keys = frame[R.request_key].to_list()
    scores = _scores([(k, "graded", g, g >= 7) for k, g in zip(keys, grades, strict=True)])
    table = compare(frame, scores=scores)
    assert _metric(table, "score.graded")["delta"] == pytest.approx((30 - 50) / 6)
    assert _metric(table, "score.graded.pass_rate")["delta"] == pytest.approx(-0.5)


def test_q_values_are_benjamini_hochberg() -> None:
    """By hand: p = .01 .04 .03 .20 of 4 -> q = .04 .0533 .0533 .20; nulls stay null."""
    q = q_values(pl.Series("p", [0.01, 0.04, None, 0.03, 0.20]))
    assert q.to_list()[:2] == pytest.approx([0.04, 0.04 * 4 / 3])
    assert q[2] is None
    assert q.to_list()[3:] == pytest.approx([0.04 * 4 / 3, 0.20])


def test_bh_flags_at_most_five_percent_of_an_all_null_table_over_many_seeds() -> None:
    """500 seeded tables of 40 null p-values (uniform): raw p < 0.05 flags ~5% of rows, q flags
    far fewer (BH controls the false discovery rate; with every null true, any flag is false)."""
    rng = np.random.default_rng(14)
    raw = flagged = 0
    for _ in range(500):
        p = pl.Series("p", rng.uniform(size=40))
        raw += int((p < ALPHA).sum())
        flagged += int((q_values(p) < ALPHA).sum())
    rows = 500 * 40
    assert raw / rows == pytest.approx(0.05, abs=0.01)
    assert flagged / rows <= 0.05
    assert flagged < raw / 5


def test_compare_flags_almost_nothing_on_null_runs_over_many_seeds() -> None:
    """20 seeded runs where arms are drawn like the baseline: false flags <= 5% of all rows."""
    flags = rows = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        frame = results(*[
            row(case_id=f"c{i}", arm=arm, latency_ms=float(rng.normal(100, 20)),
                output_tokens=int(rng.integers(5, 50)), text=" ".join(rng.choice(WORDS, 5)))
            for i in range(30) for arm in ("baseline", "a", "b")
        ])  # fmt: skip
        table = compare(frame, seed=seed, n_boot=500)
        flags += int(table["significant"].sum())
        rows += int(table["p_value"].is_not_null().sum())
    assert flags / rows <= 0.05


def test_an_arm_identical_to_the_baseline_never_reads_as_a_change() -> None:
    """Baseline repeats differ, the arm copies the baseline: exact_match and similarity are above
    the baseline's noise (no change), outputs_changed is 0; none is significant."""
    texts = [f"answer {i} first" for i in range(20)]
    rows = []
    for i, text in enumerate(texts):
        for repeat, suffix in enumerate(("", " again")):
            rows.append(row(case_id=f"c{i}", repeat=repeat, text=text + suffix))
            rows.append(row(case_id=f"c{i}", repeat=repeat, arm="copy", text=text + suffix))
    table = compare(results(*rows))
    for metric in ("exact_match", "similarity", "outputs_changed"):
        found = _metric(table, metric, arm="copy")
        assert found["significant"] is False, metric
    assert _metric(table, "exact_match", "copy")["delta"] == 1.0
    assert _metric(table, "outputs_changed", "copy")["value"] == 0.0


def test_an_arm_that_rewrites_every_answer_reads_as_changed() -> None:
    """The arm's words share nothing with the baseline's: outputs_changed 1, significant."""
    rows = []
    for i in range(20):
        for repeat in range(2):
            rows.append(row(case_id=f"c{i}", repeat=repeat, text=f"alpha beta {i} r{repeat}"))
            rows.append(row(case_id=f"c{i}", repeat=repeat, arm="new", text=f"zeta eta {repeat}"))
    found = _metric(compare(results(*rows)), "outputs_changed", arm="new")
    assert (found["value"], found["baseline"]) == (1.0, 0.0)
    assert found["significant"] is True


def test_independent_pass_fail_draws_flag_a_20_point_drop_and_rarely_a_null_arm() -> None:
    """Scores drawn independently per request (as a real model's would be): baseline and null
    pass with 0.8, the dropped arm with 0.6, 200 pairs each, 20 seeds. The drop's CI is below 0
    in >= 19 seeds, the null arm's in <= 2."""
    flagged = {"drop": 0, "null": 0}
    for seed in range(20):
        rng = np.random.default_rng(seed)
        chances = {"baseline": 0.8, "drop": 0.6, "null": 0.8}
        rows = [row(case_id=f"c{i}", arm=arm) for i in range(200) for arm in chances]
        frame = results(*rows)
        passed = [bool(rng.random() < chances[r[R.arm]]) for r in rows]
        keys = frame[R.request_key].to_list()
        scores = _scores([(k, "correct", float(p), p) for k, p in zip(keys, passed, strict=True)])
        table = compare(frame, scores=scores, seed=seed, n_boot=500, metrics=(R.latency_ms,))
        for arm in flagged:
            flagged[arm] += _metric(table, "score.correct", arm)["ci_high"] < 0  # type: ignore[operator]
    assert flagged["drop"] >= 19
    assert flagged["null"] <= 2
