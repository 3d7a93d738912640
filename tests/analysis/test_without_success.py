"""`without_success`: the (model, arm) groups with no ok row, and their commonest error."""

from __future__ import annotations

import polars as pl

from runner.analysis.error_rates import without_success
from runner.results.schema import R


def test_names_only_groups_without_an_ok_row_with_their_commonest_error() -> None:
    """An arm with one ok row is not named; a fully failed arm is, with its dominant error."""
    results = pl.DataFrame(
        {
            R.model: ["m"] * 6,
            R.arm: ["a", "a", "b", "b", "b", "c"],
            R.status: ["ok", "error", "error", "error", "error", "error"],
            R.error_type: [None, "overloaded", "invalid_beta", "invalid_beta", "timeout", None],
            R.http_status: [200, 529, 400, 400, None, None],
            R.error_message: [None, "x", "Unsupported beta header", "same", "slow", "odd"],
        }
    )
    found = without_success(results)
    assert found.select(R.arm, "requests", R.error_type, R.http_status).rows() == [
        ("b", 3, "invalid_beta", 400),
        ("c", 1, "error", None),
    ]
    assert found[R.error_message][0] == "Unsupported beta header"
