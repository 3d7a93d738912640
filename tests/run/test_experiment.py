"""runner.run_experiment / arun_experiment: the library call that runs an experiment."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from manifest_support import tiny_experiment

import runner
from runner.errors import ConfigError, UsageError
from runner.results.manifest import RunStatus

pytestmark = pytest.mark.slow

QUICKSTART = Path(__file__).resolve().parents[2] / "experiments" / "quickstart.toml"


def test_run_experiment_returns_the_run_and_its_results(tmp_path: Path) -> None:
    """The quickstart on the emulator: a complete run of 72 requests, its tables one call away."""
    h = runner.run_experiment(QUICKSTART, local=True, results_dir=tmp_path, run_id="lib")

    assert (h.run_id, h.status) == ("lib", RunStatus.COMPLETE)
    assert h.run_dir == tmp_path / "quickstart" / "lib"
    assert (h.counts.requests, h.counts.ok) == (72, 72)
    results = h.results().collect()
    assert results.height == 72
    assert results["cost_usd"].is_not_null().all()
    assert h.attempts().collect().height == h.counts.attempts
    manifest = json.loads((h.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete"


@pytest.mark.anyio
async def test_inside_a_running_event_loop_both_calls_work(tmp_path: Path) -> None:
    """From async code (a notebook's loop): run_experiment blocks in a worker thread, and
    arun_experiment runs in this loop; each makes its own complete run."""
    h = runner.run_experiment(QUICKSTART, local=True, results_dir=tmp_path)
    assert h.results().collect().height == 72

    again = await runner.arun_experiment(tiny_experiment("tiny"), local=True, results_dir=tmp_path)
    assert again.status == RunStatus.COMPLETE
    assert again.results().select(pl.len()).collect().item() == 1
    assert again.run_dir.parent == tmp_path / "tiny"


def test_a_loaded_experiment_and_a_resume_with_nothing_left(tmp_path: Path) -> None:
    """An `Experiment` object runs as a file does; resuming a finished run sends nothing and
    returns the run as it stands."""
    first = runner.run_experiment(tiny_experiment(), local=True, results_dir=str(tmp_path))
    again = runner.run_experiment(
        tiny_experiment(), local=True, results_dir=tmp_path, resume=first.run_dir
    )

    assert (again.run_dir, again.run_id, again.status) == (first.run_dir, first.run_id, "complete")
    assert again.counts == first.counts
    assert again.attempts().collect().height == 1


@pytest.mark.parametrize(
    ("arguments", "error", "match"),
    [
        pytest.param(
            {"base_url": "http://127.0.0.1:9"}, UsageError, "either --local or --base-url",
            id="local-and-base-url",
        ),
        pytest.param({"concurrency": 0}, UsageError, "between 1 and 1024", id="concurrency"),
        pytest.param({"shard": "3/2"}, UsageError, "K/N", id="shard"),
        pytest.param({"via": "pigeon"}, UsageError, "live, batches", id="via"),
        pytest.param({"batch_size": 5}, UsageError, "only applies with --via", id="batch-size"),
    ],
)  # fmt: skip
def test_bad_arguments_raise_typed_errors_and_write_nothing(
    tmp_path: Path, arguments: dict[str, object], error: type[Exception], match: str
) -> None:
    """A bad combination is a UsageError before any run directory exists."""
    with pytest.raises(error, match=match):
        runner.run_experiment(QUICKSTART, local=True, results_dir=tmp_path, **arguments)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_a_missing_experiment_file_is_a_config_error(tmp_path: Path) -> None:
    """A path that does not exist is a ConfigError naming it."""
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        runner.run_experiment(tmp_path / "nope.toml", local=True, results_dir=tmp_path)
