"""Report sections: run facts, the error table and the comparison table."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import polars as pl
from manifest_support import manifest_for

from runner.analysis import error_rates
from runner.report.sections import comparison_table, error_table, lag_note, run_facts
from runner.results.manifest import Counts
from runner.results.schema import R


def test_run_facts_show_manifest_headline_and_duration() -> None:
    """The facts list the experiment, status, counts and the run's duration, escaped."""
    manifest = dataclasses.replace(
        manifest_for("r1", experiment="exp<1>"),
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        finished_at=datetime(2026, 1, 1, 0, 0, 2, 500_000, tzinfo=UTC),
        counts=Counts(planned=4, requests=4, ok=3, errors=1, attempts=5),
        experiment={"description": "d"},
    )
    html = run_facts(manifest)
    assert "<dt>experiment</dt><dd>exp&lt;1&gt;</dd>" in html
    assert "<dt>duration</dt><dd>2.5 s</dd>" in html
    assert "<dt>errors</dt><dd>1</dd>" in html
    assert "finished" in html


def test_error_table_shows_rates_by_type_with_intervals_or_says_none() -> None:
    """Error rates per model, arm and type are shown with Wilson CIs; with none, a line says so."""
    results = pl.DataFrame(
        {
            R.model: ["m", "m", "m", "m"],
            R.arm: ["a", "a", "b", "b"],
            R.status: ["error", "ok", "ok", "ok"],
            R.error_type: ["overloaded", None, None, None],
        }
    )
    html = error_table(error_rates(results))
    assert "<td>overloaded</td>" in html
    assert '<td class="num">50.0%</td>' in html
    assert "<th>95% CI</th>" in html
    assert "No request failed" in error_table(error_rates(results.filter(pl.col(R.status) == "ok")))


def test_comparison_marks_significant_rows_and_joins_the_interval() -> None:
    """Significant rows get a class and a star; the CI is one "[low, high]" column."""
    comparison = pl.DataFrame(
        {
            "model": ["m", "m"],
            "arm": ["beta", "beta"],
            "metric": ["latency_ms", "output_tokens"],
            "baseline": [100.0, 30.0],
            "value": [130.0, 30.5],
            "delta": [30.0, 0.5],
            "ci_low": [25.0, None],
            "ci_high": [35.0, None],
            "p_value": [0.001, 0.6],
            "significant": [True, False],
            "n": [12, 12],
        }
    )
    html = comparison_table(comparison)
    assert '<tr class="significant">' in html
    assert "<td>[25.0, 35.0]</td>" in html
    assert "★ yes" in html
    assert "<td>\N{EM DASH}</td>" in html
    assert html.index("<th>delta</th>") < html.index("<th>95% CI</th>") < html.index("<th>n</th>")
    assert "No arm" in comparison_table(comparison.clear())


def test_the_summary_warns_when_client_lag_could_explain_latency_differences() -> None:
    """A p95 client lag above a few ms puts a warning under the summary; a low one does not."""
    summary = pl.DataFrame(
        {R.model: ["m", "m"], R.arm: ["baseline", "beta"], "requests": [10, 10]}
    ).with_columns(pl.Series("p95_client_lag_ms", [2.0, 40.0]))
    html = lag_note(summary)
    assert 'id="client-lag"' in html
    assert "40 ms" in html
    assert lag_note(summary.with_columns(pl.lit(1.0).alias("p95_client_lag_ms"))) == ""


def _one_comparison(ci_low: float, ci_high: float) -> pl.DataFrame:
    """One compare row, baseline 1.0 against 0.8333, with the given interval."""
    return pl.DataFrame(
        {
            "model": ["m"], "arm": ["beta"], "metric": ["score:exact"], "baseline": [1.0],
            "value": [0.8333], "delta": [-0.1667], "ci_low": [ci_low], "ci_high": [ci_high],
            "p_value": [0.25], "significant": [False], "n": [6], "mde": [0.2],
        }
    )  # fmt: skip


def test_comparison_rows_share_their_decimals_as_in_the_terminal() -> None:
    """A metric row's baseline, value, delta and interval share one count of decimals
    (1.000 beside 0.833, never 1.0), as the terminal's compare table shows them."""
    html = comparison_table(_one_comparison(ci_low=-0.3333, ci_high=0.0))
    cells = "".join(f'<td class="num">{v}</td>' for v in ("1.000", "0.833", "-0.167"))
    assert cells in html
    assert "<td>[-0.333, 0.000]</td>" in html
    assert '<td class="num">0.200</td>' in html


def test_a_comparison_rows_interval_shares_the_rows_decimals() -> None:
    """The interval's bounds and the row's figures share one count of decimals: a bound
    that needs 4 (-0.0123) gives 1.0000 and 0.8333 beside it, not 1.000 and 0.833."""
    html = comparison_table(_one_comparison(ci_low=-0.0123, ci_high=0.2))
    cells = "".join(f'<td class="num">{v}</td>' for v in ("1.0000", "0.8333", "-0.1667"))
    assert cells in html
    assert "<td>[-0.0123, 0.2000]</td>" in html
