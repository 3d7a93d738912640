"""Judge requests per judge and model: `load_judge_requests` reads and prices them, and
`judge_totals` sums them as a pure function of the frame."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from frames import result_row, row
from manifest_support import make_run

from runner import default_prices
from runner.analysis.cost import with_cost
from runner.analysis.runs import load_judge_requests
from runner.analysis.scores import judge_totals
from runner.results.schema import JudgeRequestRow


def _judge_rows() -> list[JudgeRequestRow]:
    requests = [
        row(arm="grader", model="claude-sonnet-5", case_id=f"c{i}", input_tokens=100,
            output_tokens=10, status="ok" if i else "error")
        for i in range(3)
    ]  # fmt: skip
    return [JudgeRequestRow(result_row(r), f"k{i}", None, None) for i, r in enumerate(requests)]


def test_judge_totals_sum_a_runs_judge_requests_priced_as_the_run_recorded(tmp_path: Path) -> None:
    """Requests, errors, tokens and the cost at the run's prices, per judge and model."""
    run = make_run(tmp_path / "results", "r1")
    run.append([], [], judges=_judge_rows())
    judges = load_judge_requests(run.path)
    totals = judge_totals(judges)
    assert totals.select("judge", "model", "requests", "errors", "input_tokens").rows() == [
        ("grader", "claude-sonnet-5", 3, 1, 200)  # the error row has no usage
    ]
    expected = with_cost(judges, default_prices()).select(pl.col("cost_usd").sum()).collect()
    assert totals["cost_usd"].item() == pytest.approx(expected.item())


def test_an_unpriced_frame_has_a_missing_cost_never_zero(tmp_path: Path) -> None:
    """Without a cost_usd column (a URL read without prices) the cost is null."""
    run = make_run(tmp_path / "results", "r1")
    run.append([], [], judges=_judge_rows())
    unpriced = load_judge_requests(run.path).drop("cost_usd")
    assert judge_totals(unpriced)["cost_usd"].to_list() == [None]
