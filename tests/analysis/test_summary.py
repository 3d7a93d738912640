"""summarize: per-group counts, rates, percentiles, throughput and cost over ok rows only."""

from __future__ import annotations

import polars as pl
import pytest
from frames import error, results, row
from polars.testing import assert_frame_equal

from runner.analysis import summarize
from runner.analysis.summary import SUMMARY_COLUMNS, client_lag_note
from runner.config.prices import default_prices
from runner.results.schema import R


def test_columns_keep_the_original_order_then_the_added_figures() -> None:
    """The group columns come first, then the original ten, then the added figures."""
    table = summarize(results(row()))
    assert table.columns == [R.model, R.arm, *SUMMARY_COLUMNS]
    assert SUMMARY_COLUMNS[:9] == (
        "requests", "ok", "errors", "p50_latency_ms", "p95_latency_ms", "p50_ttft_ms",
        "mean_output_tokens", "errors_by_type", "error_rate",
    )  # fmt: skip


def test_errors_are_counted_but_never_as_model_output() -> None:
    """Error rows count in requests and rates; latency, tokens and cost come from ok rows."""
    frame = results(
        row(latency_ms=100.0, output_tokens=10),
        row(latency_ms=300.0, output_tokens=30, repeat=1),
        error(latency_ms=9000.0, repeat=2),
        error(latency_ms=9000.0, repeat=3, error_type="overloaded"),
    )
    table = summarize(frame).select(
        "requests", "ok", "errors", "error_rate", "ok_rate", "p50_latency_ms",
        "mean_output_tokens", "errors_by_type",
    )  # fmt: skip
    expected = pl.DataFrame(
        {
            "requests": [4], "ok": [2], "errors": [2], "error_rate": [0.5], "ok_rate": [0.5],
            "p50_latency_ms": [200.0], "mean_output_tokens": [20.0],
            "errors_by_type": ["overloaded:1, rate_limited:1"],
        },
        schema_overrides={"requests": pl.UInt32, "ok": pl.UInt32, "errors": pl.UInt32},
    )  # fmt: skip
    assert_frame_equal(table, expected)


def test_throughput_is_output_tokens_over_generation_time_of_streamed_rows() -> None:
    """Output tokens / (latency - TTFT): 50 tokens over 0.5 s is 100 tokens/s; unstreamed rows
    are left out."""
    frame = results(
        row(latency_ms=600.0, ttft_ms=100.0, output_tokens=50),
        row(latency_ms=600.0, ttft_ms=None, output_tokens=500, repeat=1),
    )
    assert summarize(frame)["output_tokens_per_s"].to_list() == [pytest.approx(100.0)]


def test_cost_totals_and_means_per_group() -> None:
    """cost_usd is the group's total over ok rows and mean_cost_usd its mean, at the prices
    given; with no prices and no cost_usd column the cost is unknown, never the shipped table's."""
    frame = results(
        row(model="claude-sonnet-4-6", input_tokens=1000, output_tokens=0),
        row(model="claude-sonnet-4-6", input_tokens=3000, output_tokens=0, repeat=1),
        error(model="claude-sonnet-4-6", repeat=2),
    )
    table = summarize(frame, prices=default_prices())
    assert table["cost_usd"].to_list() == [pytest.approx(0.012)]
    assert table["mean_cost_usd"].to_list() == [pytest.approx(0.006)]
    unpriced = summarize(frame)
    assert unpriced.select("cost_usd", "mean_cost_usd").row(0) == (None, None)


def test_groups_are_sorted_and_custom_groupings_work() -> None:
    """One row per group in sorted order; `by` may name any columns."""
    frame = results(row(arm="b"), row(arm="a"), row(arm="a", case_id="c2"))
    assert summarize(frame)[R.arm].to_list() == ["a", "b"]
    by_case = summarize(frame, by=(R.case_id,))
    assert by_case.select(R.case_id, "requests").rows() == [("c1", 2), ("c2", 1)]


def test_client_lag_p95_per_arm_over_ok_rows() -> None:
    """p95_client_lag_ms per arm from ok rows; a table without the column reads as null."""
    frame = results(
        *(row(client_lag_ms=float(i), repeat=i) for i in range(1, 21)),
        error(client_lag_ms=900.0, repeat=21),
        row(arm="beta", client_lag_ms=2.0),
    )
    table = summarize(frame)
    lags = dict(zip(table[R.arm], table["p95_client_lag_ms"], strict=True))
    assert lags["beta"] == pytest.approx(2.0)
    assert lags["baseline"] == pytest.approx(19.05)
    unmeasured = summarize(results(row()).drop(R.client_lag_ms))
    assert unmeasured["p95_client_lag_ms"].to_list() == [None]


def test_connection_wait_mean_per_arm_over_ok_rows() -> None:
    """mean_connect_ms per arm from ok rows (an error's is left out); a table without the
    column reads as null."""
    frame = results(
        row(connect_ms=1.0, repeat=1),
        row(connect_ms=3.0, repeat=2),
        error(connect_ms=900.0, repeat=3),
        row(arm="beta", connect_ms=0.5),
    )
    table = summarize(frame)
    waits = dict(zip(table[R.arm], table["mean_connect_ms"], strict=True))
    assert waits == {"baseline": pytest.approx(2.0), "beta": pytest.approx(0.5)}
    unmeasured = summarize(results(row()).drop(R.connect_ms))
    assert unmeasured["mean_connect_ms"].to_list() == [None]


@pytest.mark.parametrize(
    ("lags", "warned"),
    [
        pytest.param([1.0, 4.0], False, id="under-5ms"),
        pytest.param([1.0, 12.0], True, id="one-arm-over"),
        pytest.param([None, None], False, id="not-measured"),
    ],
)
def test_client_lag_note_warns_only_above_a_few_ms(lags: list[float | None], warned: bool) -> None:
    """Above 5 ms p95 the note names the figure and the group; otherwise there is none."""
    frame = results(row(client_lag_ms=lags[0]), row(arm="beta", client_lag_ms=lags[1]))
    note = client_lag_note(summarize(frame))
    assert (note is not None) is warned
    if note is not None:
        assert "12 ms" in note
        assert "beta" in note
