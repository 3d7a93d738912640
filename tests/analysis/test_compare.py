"""compare: paired differences per metric with seeded bootstrap CIs and sign-flip p-values."""

from __future__ import annotations

import random

import polars as pl
import pytest
from frames import error, results, row
from polars.testing import assert_frame_equal

from runner.analysis import COMPARE_COLUMNS, METRICS, UnknownBaseline, compare
from runner.analysis.bootstrap import MAX_BLOCKS
from runner.analysis.cost import COST
from runner.catalog.prices import ModelPrice, PriceTable
from runner.results.schema import R


def _latency_runs(shift: float, n: int, seed: int = 1, arm: str = "beta") -> pl.DataFrame:
    """Baseline latencies with noise and an arm shifted by `shift`, paired by case."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        base = 100.0 + rng.gauss(0, 20)
        rows.append(row(case_id=f"c{i}", latency_ms=base))
        rows.append(row(case_id=f"c{i}", arm=arm, latency_ms=base + shift + rng.gauss(0, 5)))
    return results(*rows)


def _metric(table: pl.DataFrame, metric: str, arm: str = "beta") -> dict[str, object]:
    rows = table.filter((pl.col("metric") == metric) & (pl.col(R.arm) == arm)).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_columns_and_types_are_the_contract() -> None:
    """Exactly the documented columns, Float64 numbers, Boolean significant, Int64 n, one row
    per (model, arm other than baseline, metric)."""
    frame = results(row(), row(arm="a"), row(arm="b"), row(model="m2"), row(model="m2", arm="a"))
    table = compare(frame)
    assert table.columns == list(COMPARE_COLUMNS)
    assert table.schema["significant"] == pl.Boolean
    assert table.schema["n"] == pl.Int64
    for name in ("baseline", "value", "delta", "ci_low", "ci_high", "p_value"):
        assert table.schema[name] == pl.Float64
    assert table.height == 3 * len(METRICS)
    assert set(table[R.arm]) == {"a", "b"}
    assert table.filter(pl.col(R.model) == "m2")["metric"].to_list() == list(METRICS)


def test_a_planted_latency_shift_is_found_with_its_sign() -> None:
    """+30 ms on every pair: delta near 30, the CI excludes 0, significant, small p."""
    found = _metric(compare(_latency_runs(30.0, 40)), R.latency_ms)
    assert found["delta"] == pytest.approx(30.0, abs=3.0)
    assert 0 < found["ci_low"] < 30.0 < found["ci_high"]  # type: ignore[operator]
    assert found["significant"] is True
    assert found["p_value"] < 0.01  # type: ignore[operator]
    assert found["n"] == 40


def test_no_shift_is_not_significant() -> None:
    """A null arm's CI covers 0 and it is not flagged."""
    found = _metric(compare(_latency_runs(0.0, 40)), R.latency_ms)
    assert found["ci_low"] < 0 < found["ci_high"]  # type: ignore[operator]
    assert found["significant"] is False


def test_the_same_seed_gives_the_same_table_and_another_seed_another_ci() -> None:
    """Results are reproducible from the seed."""
    frame = _latency_runs(5.0, 30)
    assert_frame_equal(compare(frame, seed=3), compare(frame, seed=3))
    assert compare(frame, seed=3)["ci_low"].to_list() != compare(frame, seed=4)["ci_low"].to_list()


def test_errors_are_not_output_but_count_in_error_rate() -> None:
    """A failed arm request drops out of latency pairs and counts 1 in error_rate."""
    frame = results(
        row(case_id="a", latency_ms=100.0),
        row(case_id="a", arm="beta", latency_ms=150.0),
        row(case_id="b", latency_ms=100.0),
        error(case_id="b", arm="beta", latency_ms=60_000.0),
    )
    table = compare(frame)
    latency = _metric(table, R.latency_ms)
    assert (latency["value"], latency["baseline"], latency["delta"], latency["n"]) == (
        150.0, 100.0, 50.0, 1,
    )  # fmt: skip
    rate = _metric(table, "error_rate")
    assert (rate["value"], rate["baseline"], rate["delta"], rate["n"]) == (0.5, 0.0, 0.5, 2)


def test_output_metrics_are_set_against_the_baselines_own_noise() -> None:
    """Texts equal to the baseline's match exactly, while the baseline's repeats differ."""
    texts = ["alpha beta", "gamma delta"]
    rows = []
    for repeat, text in enumerate(texts):
        rows.append(row(repeat=repeat, text=text))
        rows.append(row(repeat=repeat, arm="same", text=text))
        rows.append(row(repeat=repeat, arm="other", text=f"{text} extra", stop_reason="max_tokens"))
    table = compare(results(*rows))
    same = _metric(table, "exact_match", "same")
    assert (same["value"], same["baseline"]) == (1.0, 0.0)
    similar = _metric(table, "similarity", "other")
    assert similar["value"] == pytest.approx(2 / 3)
    assert _metric(table, "length_delta", "other")["delta"] == 6.0
    assert _metric(table, "stop_reason_shift", "other")["value"] == 1.0
    reference = _metric(table, "baseline_self_similarity", "other")
    assert (reference["value"], reference["delta"], reference["significant"]) == (0.0, None, False)


def test_without_repeats_self_similarity_is_undefined() -> None:
    """One repeat gives no repeat-to-repeat pairs: n is 0 and the values are null."""
    found = _metric(compare(results(row(), row(arm="beta"))), "self_similarity")
    assert (found["value"], found["n"], found["significant"]) == (None, 0, False)


def test_evidence_share_counts_the_arms_catalogued_signals() -> None:
    """An arm sending fast mode whose answers show usage.speed=fast has evidence share 1."""
    fast = ["fast-mode-2026-02-01"]
    frame = results(
        row(case_id="a"),
        row(case_id="a", arm="fast", betas=fast, evidence=["usage.speed=fast"]),
        row(case_id="b", evidence=["block:thinking"]),
        row(case_id="b", arm="fast", betas=fast, evidence=["block:thinking", "usage.speed=fast"]),
        row(case_id="a", arm="plain", betas=["my-beta-2026-01-01"], evidence=["usage.speed=fast"]),
    )
    table = compare(frame)
    evidence = _metric(table, "evidence_share", "fast")
    assert (evidence["value"], evidence["baseline"], evidence["n"]) == (1.0, 0.0, 2)
    assert _metric(table, "evidence_share", "plain")["value"] is None


def test_more_pairs_than_blocks_still_give_a_calibrated_interval() -> None:
    """With n above MAX_BLOCKS the CI half-width is close to 1.96 sd / sqrt(n)."""
    n = 3 * MAX_BLOCKS
    found = _metric(compare(_latency_runs(2.0, n), metrics=[R.latency_ms]), R.latency_ms)
    half = (found["ci_high"] - found["ci_low"]) / 2  # type: ignore[operator]
    assert half == pytest.approx(1.96 * 5.0 / n**0.5, rel=0.2)
    assert found["n"] == n


def test_an_unknown_baseline_is_a_value_error_naming_the_arms() -> None:
    """Asking for a baseline the results do not have says which arms exist, in plain words."""
    with pytest.raises(UnknownBaseline) as raised:
        compare(_latency_runs(0.0, 2), baseline="control")
    assert isinstance(raised.value, ValueError)
    assert (raised.value.arm, raised.value.arms) == ("control", ("baseline", "beta"))
    message = str(raised.value)
    assert (
        message
        == "The baseline arm 'control' is not in these results; their arms are baseline, beta."
    )


def test_costs_use_the_prices_given_else_the_tables_own_else_none() -> None:
    """compare never falls back to the shipped prices: no prices and no cost_usd, no cost pairs."""
    runs = _latency_runs(0.0, 4)
    unpriced = _metric(compare(runs, metrics=[COST]), COST)
    assert unpriced["n"] == 0
    table = PriceTable({"claude-sonnet-5": ModelPrice(1.0, 2.0, 0.0, 0.0, 0.0)})
    priced = _metric(compare(runs, metrics=[COST], prices=table), COST)
    assert priced["n"] == 4
    assert priced["baseline"] == pytest.approx((10 * 1.0 + 8 * 2.0) / 1e6)


def test_a_chosen_baseline_and_metric_subset() -> None:
    """Any arm can be the baseline; `metrics` picks and orders the rows."""
    table = compare(_latency_runs(10.0, 10), baseline="beta", metrics=["error_rate", R.latency_ms])
    assert table["metric"].to_list() == ["error_rate", R.latency_ms]
    assert table[R.arm].unique().to_list() == ["baseline"]
    assert table["delta"][1] < 0
