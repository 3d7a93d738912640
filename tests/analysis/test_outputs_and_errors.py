"""side_by_side, error_rates with Wilson intervals, and evidence_report's no-effect flag."""

from __future__ import annotations

import polars as pl
import pytest
from frames import error, results, row
from polars.testing import assert_frame_equal

from runner.analysis import error_rates, evidence_report, side_by_side
from runner.analysis.evidence import NO_EFFECT_NOTE
from runner.results.schema import R


def test_side_by_side_puts_one_text_column_per_arm_baseline_first() -> None:
    """One row per (case, model, repeat); a failed request leaves its cell empty."""
    frame = results(
        row(arm="z", text="zed"),
        row(arm="baseline", text="base"),
        error(arm="a"),
        row(arm="a", repeat=1, text="second"),
    )
    expected = pl.DataFrame(
        {
            R.case_id: ["c1", "c1"],
            R.model: ["claude-sonnet-5", "claude-sonnet-5"],
            R.repeat: [0, 1],
            "text:baseline": ["base", None],
            "text:a": [None, "second"],
            "text:z": ["zed", None],
        },
        schema_overrides={R.repeat: pl.Int32},
    )
    assert_frame_equal(side_by_side(frame, baseline="baseline"), expected)


def test_error_rates_give_every_type_per_group_with_wilson_intervals() -> None:
    """Counts per type (zeros included) and in all; 1 of 4 has the Wilson interval
    [0.046, 0.699]."""
    frame = results(
        row(arm="a"), row(arm="a", repeat=1), row(arm="a", repeat=2), error(arm="a", repeat=3),
        row(arm="b"), error(arm="b", repeat=1, error_type="overloaded"),
    )  # fmt: skip
    table = error_rates(frame)
    assert table.select(R.arm, R.error_type, "errors", "requests").rows() == [
        ("a", "overloaded", 0, 4),
        ("a", "rate_limited", 1, 4),
        ("a", "all", 1, 4),
        ("b", "overloaded", 1, 2),
        ("b", "rate_limited", 0, 2),
        ("b", "all", 1, 2),
    ]
    a_all = table.filter((pl.col(R.arm) == "a") & (pl.col(R.error_type) == "all"))
    assert a_all["rate"][0] == 0.25
    assert (a_all["ci_low"][0], a_all["ci_high"][0]) == (
        pytest.approx(0.0456, abs=1e-3),
        pytest.approx(0.6994, abs=1e-3),
    )


def test_no_errors_give_a_zero_rate_with_an_upper_bound() -> None:
    """Zero errors in 12 requests: rate 0, interval [0, 0.24]."""
    table = error_rates(results(*(row(repeat=i) for i in range(12))))
    assert table.select("rate", "ci_low").rows() == [(0.0, 0.0)]
    assert table["ci_high"][0] == pytest.approx(0.2425, abs=1e-3)


def test_evidence_report_flags_an_arm_indistinguishable_from_baseline() -> None:
    """The arm whose answers show its beta's signal is not flagged; the no-op arm is."""
    fast, noop = ["fast-mode-2026-02-01"], ["model-context-window-exceeded-2025-08-26"]
    rows = []
    for case in ("a", "b", "c"):
        rows.append(row(case_id=case))
        rows.append(row(case_id=case, arm="fast", betas=fast, evidence=["usage.speed=fast"]))
        rows.append(row(case_id=case, arm="noop", betas=noop))
    report = evidence_report(results(*rows))
    assert report.select(R.arm, "evidence_share", "baseline_evidence_share").rows() == [
        ("fast", 1.0, 0.0),
        ("noop", 0.0, 0.0),
    ]
    assert report["no_detectable_effect"].to_list() == [False, True]
    assert report["changed"][0] == "evidence_share"
    assert report["note"].to_list() == [None, NO_EFFECT_NOTE]


@pytest.mark.parametrize(
    ("lag_ms", "flagged"),
    [
        pytest.param(None, False, id="lag-not-measured"),
        pytest.param(1.0, False, id="lag-smaller-than-the-change"),
        pytest.param(20.0, True, id="lag-that-could-explain-it"),
    ],
)
def test_a_latency_change_the_client_lag_could_explain_is_no_evidence_of_effect(
    lag_ms: float | None, flagged: bool
) -> None:
    """A header-only arm 12 ms slower on every pair: a change when the client's mean lag is
    smaller (or unknown); no evidence of effect when the lag could have added that much."""
    noop = ["model-context-window-exceeded-2025-08-26"]
    rows = []
    for i in range(12):
        rows.append(row(case_id=f"c{i}", latency_ms=100.0 + i, client_lag_ms=lag_ms))
        slower = 112.0 + i + (i % 3) * 0.5
        rows.append(
            row(case_id=f"c{i}", arm="noop", betas=noop, latency_ms=slower, client_lag_ms=lag_ms)
        )
    report = evidence_report(results(*rows))
    assert report["no_detectable_effect"].to_list() == [flagged]
    assert report["changed"].to_list() == ["" if flagged else "latency_ms"]
