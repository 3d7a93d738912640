"""runner.run_experiment / arun_experiment: the library call that runs an experiment."""

from __future__ import annotations

import errno
import inspect
import json
import os
from pathlib import Path

import polars as pl
import pytest
from e2e_support import run_cli
from manifest_support import tiny_experiment

import runner
from runner.errors import ConfigError, RunFailed, RunStoreError, UsageError
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
    h = runner.run_experiment(tiny_experiment("in-a-thread"), local=True, results_dir=tmp_path)
    assert h.status == RunStatus.COMPLETE
    assert h.results().select(pl.len()).collect().item() == 1
    assert h.run_dir.parent == tmp_path / "in-a-thread"

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
    ("arguments", "error", "message"),
    [
        pytest.param(
            {"base_url": "http://127.0.0.1:9"}, UsageError,
            "Use either local or base_url, not both.", id="local-and-base-url",
        ),
        pytest.param({"concurrency": 0}, UsageError, "concurrency=0 must be between 1 and 1024.",
                     id="concurrency"),
        pytest.param({"shard": "3/2"}, UsageError, "shard='3/2' must be K/N", id="shard"),
        pytest.param({"shard": "1/2"}, UsageError, "shard needs run_id, the same",
                     id="shard-without-run-id"),
        pytest.param({"via": "pigeon"}, UsageError, "via='pigeon' must be one of live, batches",
                     id="via"),
        pytest.param({"batch_size": 5}, UsageError,
                     "batch_size=5 only applies with via='batches'; add via='batches', or drop "
                     "batch_size.", id="batch-size"),
        pytest.param({"via": "batches", "batch_size": 0}, UsageError,
                     "batch_size=0 must be between", id="batch-size-range"),
        pytest.param({"run_id": "a/b"}, UsageError, "run_id 'a/b' must be 1 to 128",
                     id="run-id"),
        pytest.param({"run_id": "x", "resume": "latest"}, UsageError,
                     "run_id names a new run; resume and retry_errors continue one.",
                     id="run-id-and-resume"),
        pytest.param({"resume": "latest", "retry_errors": "latest"}, UsageError,
                     "Use either resume or retry_errors, not both.", id="resume-and-retry"),
        pytest.param({"resume": "latest"}, UsageError, "resume='latest': there is no run of",
                     id="resume-latest-none"),
        pytest.param({"retry_errors": "nowhere"}, RunStoreError,
                     "retry_errors='nowhere': no such directory.", id="retry-missing"),
    ],
)  # fmt: skip
def test_bad_arguments_raise_errors_naming_the_keywords_and_write_nothing(
    tmp_path: Path, arguments: dict[str, object], error: type[Exception], message: str
) -> None:
    """A bad combination is a typed error before any run directory exists, naming the
    keyword arguments as the caller wrote them, never the CLI's flags."""
    with pytest.raises(error) as raised:
        runner.run_experiment(QUICKSTART, local=True, results_dir=tmp_path, **arguments)  # type: ignore[arg-type]
    assert message in str(raised.value)
    assert "--" not in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_key_names_the_local_keyword() -> None:
    """Without the key, the library suggests local=True (the CLI says --local)."""
    with pytest.raises(UsageError, match=r"or use local=True to run against"):
        runner.run_experiment(QUICKSTART)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--base-url", "http://127.0.0.1:9"], "Use either --local or --base-url",
                     id="local-and-base-url"),
        pytest.param(["--shard", "3/2"], "--shard '3/2' must be K/N", id="shard"),
        pytest.param(["--batch-size", "5"],
                     "--batch-size 5 only applies with --via batches; add --via", id="batch"),
        pytest.param(["--run-id", "a/b"], "--run-id 'a/b' must be 1 to 128", id="run-id"),
        pytest.param(["--resume", "latest"], "--resume latest: there is no run of", id="resume"),
    ],
)  # fmt: skip
def test_the_cli_keeps_naming_its_flags(
    tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same checks from `beta-runner run` name the command's flags."""
    assert run_cli(["run", QUICKSTART, "--local", "--results", tmp_path, *argv]) == 2
    assert message in capsys.readouterr().err


def test_run_experiment_takes_exactly_arun_experiments_arguments() -> None:
    """One keyword list: the blocking call's signature is the async one's."""
    blocking = inspect.signature(runner.run_experiment)
    assert blocking == inspect.signature(runner.arun_experiment)
    assert "batch_size" in blocking.parameters
    assert runner.run_experiment.__name__ == "run_experiment"


def test_a_missing_experiment_file_is_a_config_error(tmp_path: Path) -> None:
    """A path that does not exist is a ConfigError naming it."""
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        runner.run_experiment(tmp_path / "nope.toml", local=True, results_dir=tmp_path)


def test_a_run_id_in_use_is_refused_without_naming_a_flag(tmp_path: Path) -> None:
    """The second run with a run id refuses to overwrite the first; the message says run id,
    which reads right from Python and from the CLI."""
    runner.run_experiment(tiny_experiment(), local=True, results_dir=tmp_path, run_id="same")
    with pytest.raises(RunStoreError, match="already exists") as raised:
        runner.run_experiment(tiny_experiment(), local=True, results_dir=tmp_path, run_id="same")
    assert "Choose another run id." in str(raised.value)
    assert "--" not in str(raised.value)


def test_a_failed_run_says_how_to_resume_it_from_either_side() -> None:
    """RunFailed names the flag and the keyword: it reaches CLI and library users alike."""
    message = str(RunFailed(Path("results/e/r1"), ValueError("disk full")))
    assert "--resume results/e/r1 on the command line" in message
    assert "resume='results/e/r1' in Python" in message


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        pytest.param(errno.ENOSPC, "make room (free disk space", id="disk-full"),
        pytest.param(errno.EFBIG, "make room (free disk space", id="file-too-large"),
        pytest.param(errno.EACCES, "fix what stopped it, then resume it", id="permission"),
    ],
)
def test_a_run_stopped_by_a_failed_write_names_the_file_and_what_to_do(
    code: int, advice: str
) -> None:
    """An OSError naming a file: the message names it and its reason (not "unexpected
    error"), says what to do first, then how to resume."""
    part = "results/e/r1/parts/results-000003.parquet"
    message = str(RunFailed(Path("results/e/r1"), OSError(code, os.strerror(code), part)))
    assert message.startswith(f"The run stopped: {part}: {os.strerror(code)}. ")
    assert advice in message
    assert "--resume results/e/r1 on the command line" in message
