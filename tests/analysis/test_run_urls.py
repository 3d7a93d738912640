"""Runs read by URL: `load_run`/`load_scores` over http(s) and file://, and the commands
that take a run (`compare`, `report`, `score`) passing URLs to them unmangled."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from e2e_support import run_cli
from frames import two_arm_run
from polars.testing import assert_frame_equal
from served_files import Served, serve_directory

from runner import default_prices
from runner.analysis import load_run
from runner.analysis.runs import load_scores
from runner.cli.locations import RunLocation
from runner.errors import RunStoreError
from runner.results.schema import R


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A compacted two-arm run, 12 cases each, the arm 50 ms slower."""
    return two_arm_run(tmp_path / "results")


@pytest.fixture
def served(run_dir: Path) -> Served:
    """The results directory served over HTTP; the run is at `<url>/exp/r1`."""
    with serve_directory(run_dir.parent.parent) as server:
        yield server


@pytest.mark.parametrize("scheme", ["http", "file"], ids=["http", "file-url"])
def test_load_run_reads_a_url_like_the_directory(
    run_dir: Path, served: Served, scheme: str
) -> None:
    """The rows read from the URL are the directory's; with no scores there, none."""
    url = f"{served.url}/exp/r1" if scheme == "http" else run_dir.as_uri()
    remote = load_run(url, prices=default_prices()).collect().sort(R.arm, R.case_id)
    local = load_run(run_dir, prices=default_prices()).collect().sort(R.arm, R.case_id)
    assert_frame_equal(remote, local)
    assert load_scores(url) is None


def test_a_url_with_no_run_is_a_run_store_error_naming_it(served: Served) -> None:
    """A URL where no results.parquet is found says so in one line, naming the URL."""
    with pytest.raises(RunStoreError, match=r"^http://.*/exp/nothing: no results\.parquet"):
        load_run(f"{served.url}/exp/nothing", prices=default_prices())


def test_compare_takes_a_url_and_prints_what_the_directory_gives(
    run_dir: Path, served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same rows as for the local run, costs missing (not guessed), one warning naming --prices."""
    assert run_cli(["compare", run_dir, "--format", "json"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert run_cli(["compare", f"{served.url}/exp/r1/", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    remote = json.loads(out)
    assert _measured(remote) == _measured(local)  # q-values differ: cost is not tested
    assert all(r["value"] is None for r in remote if r["metric"] == "cost_usd")
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "--prices FILE" in err
    assert "Traceback" not in err


def test_an_unreadable_url_exits_2_with_one_line(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """compare and report of a URL with nothing there: exit 2, one error line naming it."""
    url = f"{served.url}/exp/gone"
    for command in (["compare", url], ["report", url]):
        assert run_cli(command) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert err.startswith(f"error: {url}: no results.parquet")


def test_report_of_a_url_lands_in_the_current_directory(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no -o, the page is `<run id>.report.html` here and says the manifest was not read."""
    assert run_cli(["report", f"{served.url}/exp/r1", "--prices", _prices(tmp_path)]) == 0
    page = (tmp_path / "r1.report.html").read_text(encoding="utf-8")
    assert "manifest (status, times, counts, prices) was not read" in page
    assert "Baseline: baseline." in page
    assert "warning:" not in capsys.readouterr().err  # priced: nothing to warn about


def test_score_refuses_a_url_it_cannot_write_to(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """score writes into the run: a URL is a usage error naming it, exit 2."""
    assert run_cli(["score", f"{served.url}/exp/r1"]) == 2
    assert "needs a local run directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    "url", ["s3://bucket/runs/r1", "gs://b/r1/", "https://h.example/a//b"], ids=str
)
def test_a_run_argument_keeps_a_url_as_given(url: str) -> None:
    """click.Path would fold `s3://` into `s3:/`; the run argument keeps the URL whole."""
    assert RunLocation().convert(url, None, None) == url
    assert RunLocation().convert("results/exp/r1", None, None) == Path("results/exp/r1")


def _measured(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    keys = ("arm", "metric", "baseline", "value", "delta", "p_value")
    return [tuple(r[k] for k in keys) for r in rows if r["metric"] != "cost_usd"]


def _prices(tmp_path: Path) -> Path:
    path = tmp_path / "prices.toml"
    path.write_text("", encoding="utf-8")
    return path


def test_the_served_files_are_what_polars_reads(served: Served, run_dir: Path) -> None:
    """The test server answers ranges: polars reads the served Parquet file whole."""
    remote = pl.read_parquet(f"{served.url}/exp/r1/results.parquet")
    assert remote.height == pl.read_parquet(run_dir / "results.parquet").height
