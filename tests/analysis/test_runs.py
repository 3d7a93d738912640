"""Loading runs for analysis: one run directory, or many by list, glob or results directory."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from frames import result_row, row
from manifest_support import make_run
from polars.testing import assert_frame_equal

from runner.analysis import load_run, scan_runs
from runner.analysis.runs import load_scores
from runner.config.prices import default_prices
from runner.errors import RunStoreError
from runner.results.schema import RESULTS_SCHEMA, R, S, ScoreRow


def _make_run(results_dir: Path, experiment: str, run_id: str, rows: int) -> Path:
    run = make_run(results_dir, run_id, experiment=experiment)
    values = [row(run_id=run_id, repeat=i) for i in range(rows)]
    run.append([result_row(v) for v in values], [])
    return run.path


def test_load_run_reads_parts_of_an_unfinished_run(tmp_path: Path) -> None:
    """A run still in parts loads lazily: the results schema plus its cost_usd column."""
    path = _make_run(tmp_path, "exp", "r1", 3)
    frame = load_run(path)
    assert isinstance(frame, pl.LazyFrame)
    assert frame.collect_schema() == pl.Schema({**RESULTS_SCHEMA, "cost_usd": pl.Float64()})
    assert frame.collect().height == 3


def test_load_run_refuses_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    """A path without a manifest is a RunStoreError naming it."""
    with pytest.raises(RunStoreError, match="not a run directory"):
        load_run(tmp_path)


@pytest.mark.parametrize(
    ("spec", "experiment", "runs"),
    [
        ("results", None, {"a1", "a2", "b1"}),
        ("results", "a", {"a1", "a2"}),
        ("results/a", None, {"a1", "a2"}),
        ("results/*/?1", None, {"a1", "b1"}),
        (["results/a/a1", "results/b/b1"], None, {"a1", "b1"}),
        (["results/a/a1", "results/b/b1"], "b", {"b1"}),
    ],
    ids=["results-dir", "experiment", "experiment-dir", "glob", "list", "list-filtered"],
)
def test_scan_runs_stacks_every_run_found(
    tmp_path: Path, spec: str | list[str], experiment: str | None, runs: set[str]
) -> None:
    """Rows of every matching run are stacked, each keeping its run_id."""
    for experiment_name, run_id in (("a", "a1"), ("a", "a2"), ("b", "b1")):
        _make_run(tmp_path / "results", experiment_name, run_id, 2)
    frame = scan_runs(spec, experiment=experiment).collect()
    assert set(frame[R.run_id]) == runs
    assert frame.height == 2 * len(runs)


def test_scan_runs_with_nothing_found_says_so(tmp_path: Path) -> None:
    """No run under the path is a RunStoreError, not an empty frame."""
    with pytest.raises(RunStoreError, match="No run directories"):
        scan_runs(tmp_path)


def test_a_run_read_from_a_url_without_prices_warns_that_it_is_unpriced(tmp_path: Path) -> None:
    """A URL's manifest is not read: without prices= the frame has no cost_usd column and a
    warning says what to pass; with prices= it is priced and nothing is said."""
    run = make_run(tmp_path, "r1")
    run.append([result_row(row(run_id="r1"))], [])
    run.compact()
    url = run.path.as_uri()
    with pytest.warns(UserWarning, match=r"is not priced .* no cost_usd column; pass prices="):
        frame = load_run(url)
    assert "cost_usd" not in frame.collect_schema().names()
    assert frame.collect().height == 1
    priced = load_run(url, prices=default_prices())
    assert priced.collect()["cost_usd"].to_list()[0] > 0


def test_a_run_read_from_a_url_has_its_scores(tmp_path: Path) -> None:
    """load_scores of a run's URL reads its scores.parquet, as of its directory: scores are
    not dropped for a remote run; a URL of a run with no scores gives None."""
    scored, unscored = make_run(tmp_path, "r1"), make_run(tmp_path, "r2")
    for run in (scored, unscored):
        run.append([result_row(row(run_id=run.path.name))], [])
        run.compact()
    key = load_run(scored.path).collect()[R.request_key][0]
    scored.replace_scores(["exact"], [ScoreRow(key, "exact", "f1", 1.0, True, None, None)])
    remote = load_scores(scored.path.as_uri())
    assert remote is not None
    local = load_scores(scored.path)
    assert local is not None
    assert_frame_equal(remote.collect(), local.collect())
    assert remote.collect()[S.value].to_list() == [1.0]
    assert load_scores(unscored.path.as_uri()) is None
