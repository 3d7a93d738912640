"""Runs written by schema version 3 (before connect_ms) read in the current shape, compare
with current runs and resume; runs of versions this beta-runner does not read are refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from e2e_support import run_cli, write_experiment

from runner.analysis import load_run, summarize
from runner.emulator import EmulatorConfig, EmulatorServer
from runner.results.journal import JOURNAL
from runner.results.manifest import read_manifest
from runner.results.schema import ATTEMPTS_SCHEMA, RESULTS_SCHEMA, SCHEMA_VERSION
from runner.results.store import read_attempts, read_results

pytestmark = pytest.mark.slow

FAST = EmulatorConfig(ttft_ms=5.0, ms_per_output_token=0.05, jitter=0.0)
CASES = tuple((f"c{i}", f"Say {i}.") for i in range(4))  # x 2 arms: 8 requests


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A fast emulator on a free loopback port."""
    with EmulatorServer(FAST) as server:
        yield server


def _run(tmp_path: Path, url: str, run_id: str) -> Path:
    experiment = write_experiment(tmp_path, url, prompts=CASES)
    assert (
        run_cli(["run", experiment, "--results", tmp_path / "out", "--run-id", run_id, "-q"]) == 0
    )
    return tmp_path / "out" / "e2e" / run_id


def _as_version_3(run_dir: Path, journaled: int = 0, lost: int = 0) -> set[str]:
    """Rewrite a finished run as schema version 3 left it: tables without connect_ms, the
    last `journaled` requests only in a journal of that version (ISO 8601 timestamps, rows
    one value shorter) and the `lost` before them nowhere, as a kill would; returns the
    keys of the requests it kept."""
    results = pl.read_parquet(run_dir / "results.parquet").drop("connect_ms")
    attempts = pl.read_parquet(run_dir / "attempts.parquet").drop("connect_ms")
    keys = results["request_key"].to_list()
    kept, in_journal = keys[: len(keys) - journaled - lost], keys[len(keys) - journaled :]
    for frame, name in ((results, "results"), (attempts, "attempts")):
        frame.filter(pl.col("request_key").is_in(kept)).write_parquet(run_dir / f"{name}.parquet")
    with (run_dir / JOURNAL).open("w") as journal:
        for key in in_journal:
            (result,) = results.filter(pl.col("request_key") == key).rows()
            tried = attempts.filter(pl.col("request_key") == key).rows()
            record = {"result": _old_values(result), "attempts": [_old_values(a) for a in tried]}
            journal.write(json.dumps(record) + "\n")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["schema_version"] = 3
    if journaled or lost:
        manifest["status"] = "interrupted"
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    return set(kept + in_journal)


def _old_values(row: tuple[object, ...]) -> list[object]:
    return [v.isoformat() if isinstance(v, datetime) else v for v in row]


def _set_version(run_dir: Path, version: int) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["schema_version"] = version
    (run_dir / "manifest.json").write_text(json.dumps(manifest))


def test_a_version_3_run_reads_with_connect_ms_missing_not_zero(
    tmp_path: Path, emulator: EmulatorServer, keyed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """load_run, summarize, compare and report read a version 3 run; connect_ms is null in
    its rows, its summary and its report (a dash), never 0."""
    run_dir = _run(tmp_path, emulator.url, "old")
    _as_version_3(run_dir)
    assert read_manifest(run_dir).schema_version == 3  # kept as read: its tables are version 3
    results = load_run(run_dir).collect()
    assert results.height == 8
    assert results["connect_ms"].null_count() == 8
    assert read_attempts(run_dir).collect()["connect_ms"].null_count() == 8
    summary = summarize(results)
    assert summary["mean_connect_ms"].null_count() == summary.height
    assert summary["p50_latency_ms"].null_count() == 0
    capsys.readouterr()
    assert run_cli(["compare", run_dir, "--format", "json"]) == 0
    assert {row["arm"] for row in json.loads(capsys.readouterr().out)} == {"beta"}
    assert run_cli(["report", run_dir, "-o", tmp_path / "report.html"]) == 0
    page = (tmp_path / "report.html").read_text()
    header, _, body = page.partition("mean_connect_ms</th>")
    assert header  # the column is in the report
    assert "—</td></tr>" in body.partition("</tbody>")[0]  # and shown as missing


def test_a_current_run_is_gated_against_a_version_3_baseline_run(
    tmp_path: Path, emulator: EmulatorServer, keyed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """regress. gates of a current run compare with an earlier version 3 run; one on
    connect_ms, which that run did not measure, is reported as not checked, not passed;
    history lists both runs."""
    old = _run(tmp_path, emulator.url, "r1-old")
    _as_version_3(old)
    new = _run(tmp_path, emulator.url, "r2-new")
    capsys.readouterr()
    gates = [
        "--fail-on",
        "regress.p50_latency_ms>+1000%",
        "--fail-on",
        "regress.mean_connect_ms>+1%",
    ]
    assert run_cli(["compare", new, *gates]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "'regress.p50_latency_ms>+1000%': compared with run r1-old." in err
    assert "'regress.mean_connect_ms>+1%' is not checked for model" in err
    assert run_cli(["history", "e2e", "--results", tmp_path / "out", "--format", "json"]) == 0
    assert "r1-old" in capsys.readouterr().out


def test_resume_of_an_interrupted_version_3_run_finishes_it_in_the_current_shape(
    tmp_path: Path, emulator: EmulatorServer, keyed: str
) -> None:
    """--resume of a version 3 run killed mid-run (rows in its tables and in its journal)
    sends only the requests it lacks; every row then has the current columns, connect_ms
    null for the rows the old version wrote and measured for the new, and the manifest says
    the current version."""
    run_dir = _run(tmp_path, emulator.url, "killed")
    kept = _as_version_3(run_dir, journaled=2, lost=2)
    sent_before = len(emulator.app.received)
    experiment = tmp_path / "experiment.toml"
    assert run_cli(["run", experiment, "--resume", run_dir, "-q"]) == 0
    assert len(emulator.app.received) - sent_before == 2
    results = pl.read_parquet(run_dir / "results.parquet")
    attempts = pl.read_parquet(run_dir / "attempts.parquet")
    assert (results.schema, attempts.schema) == (RESULTS_SCHEMA, ATTEMPTS_SCHEMA)
    assert results["request_key"].n_unique() == results.height == 8
    for table in (results, attempts):
        old = pl.col("request_key").is_in(list(kept))
        assert table.filter(old)["connect_ms"].null_count() == len(kept)
        assert table.filter(~old)["connect_ms"].null_count() == 0
    assert read_results(run_dir).collect()["started_at"].null_count() == 0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (manifest["schema_version"], manifest["status"]) == (SCHEMA_VERSION, "complete")


@pytest.mark.parametrize(
    ("version", "says"),
    [
        pytest.param(2, "written by an older beta-runner", id="older"),
        pytest.param(SCHEMA_VERSION + 1, "written by a newer beta-runner", id="newer"),
    ],
)
def test_a_run_of_a_version_not_read_is_one_line_and_exit_2(
    tmp_path: Path,
    emulator: EmulatorServer,
    keyed: str,
    capsys: pytest.CaptureFixture[str],
    version: int,
    says: str,
) -> None:
    """compare and --resume of a run older than version 3 or newer than this beta-runner's
    exit 2 with one line naming the manifest, the version and what to do."""
    run_dir = _run(tmp_path, emulator.url, "other")
    _set_version(run_dir, version)
    capsys.readouterr()
    resume = ["run", tmp_path / "experiment.toml", "--resume", run_dir, "-q"]
    for args in (["compare", run_dir], resume):
        assert run_cli(args) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert f"manifest.json: schema_version: is {version}, {says}" in err
        assert f"reads versions 3 to {SCHEMA_VERSION}" in err
        assert "Traceback" not in err
