"""History: one row per run, oldest first, with per-arm metrics as columns."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from runner.analysis.history import RunSummary, history


def _summary(models: list[str], arms: list[str], p50: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"model": models, "arm": arms, "p50_latency_ms": p50, "requests": [2] * 2})


def test_one_row_per_run_with_arm_metric_columns_oldest_first() -> None:
    """Runs come out sorted by start, one column per arm and metric; an empty run keeps a row."""
    runs = [
        RunSummary("r2", "2026-01-02", "interrupted", _summary(["m", "m"], ["a", "b"], [3, 4])),
        RunSummary("r1", "2026-01-01", "complete", _summary(["m", "m"], ["a", "b"], [1, 2])),
        RunSummary("r3", "2026-01-03", "failed", pl.DataFrame()),
    ]
    expected = pl.DataFrame(
        {
            "run_id": ["r1", "r2", "r3"],
            "started_at": ["2026-01-01", "2026-01-02", "2026-01-03"],
            "status": ["complete", "interrupted", "failed"],
            "a.p50_latency_ms": [1.0, 3.0, None],
            "b.p50_latency_ms": [2.0, 4.0, None],
        }
    )
    assert_frame_equal(history(runs, ["p50_latency_ms"]), expected)


def test_several_models_prefix_columns_with_the_model() -> None:
    """With two models, columns read MODEL/ARM.METRIC."""
    runs = [RunSummary("r1", "t", "complete", _summary(["m1", "m2"], ["a", "a"], [1, 2]))]
    assert history(runs, ["requests"]).columns == [
        "run_id",
        "started_at",
        "status",
        "m1/a.requests",
        "m2/a.requests",
    ]
