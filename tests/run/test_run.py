"""Orchestration: an unexpected error keeps what finished, marks the run failed, and resumes."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from e2e_support import SECRET, results_of, run_cli, write_experiment

from runner.config.load import load_experiment
from runner.config.types import Experiment
from runner.emulator import EmulatorConfig, EmulatorServer
from runner.errors import RunFailed
from runner.results.manifest import RunStatus
from runner.results.schema import ResultRow
from runner.results.store import RunDirectory, read_results
from runner.run.services import http_client
from runner.run.session import RunServices, create_run_directory, execute_run

FAST = EmulatorConfig(ttft_ms=5.0, ms_per_output_token=0.05, jitter=0.0)


class BreaksAfter:
    """A result observer that raises on the n-th result, as a broken plug-in would."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen = 0

    def result(self, row: ResultRow) -> None:
        """Count; fail at the n-th."""
        self.seen += 1
        if self.seen == self.n:
            raise RuntimeError("observer broke")


async def _run_breaking(experiment: Experiment, run_dir: RunDirectory) -> None:
    async with http_client(2, 30.0) as http:
        services = RunServices.real(http, SECRET, BreaksAfter(5))
        await execute_run(experiment, run_dir, "boom", services)


def test_unexpected_error_writes_finished_rows_marks_failed_and_raises_run_failed(
    tmp_path: Path, keyed: str
) -> None:
    """The rows received before the error are on disk, status failed, then --resume completes."""
    prompts = tuple((f"c{i}", f"Prompt {i}.") for i in range(12))
    with EmulatorServer(FAST) as server:
        path = write_experiment(tmp_path, server.url, prompts=prompts, run="concurrency = 2")
        experiment = load_experiment(path).experiment
        run_dir = create_run_directory(tmp_path / "out", experiment, "boom", 24)
        with pytest.raises(RunFailed, match="RuntimeError: observer broke") as raised:
            anyio.run(_run_breaking, experiment, run_dir)
        assert raised.value.run_dir == run_dir.path
        assert "--resume" in str(raised.value)
        manifest = run_dir.read_manifest()
        assert manifest.status is RunStatus.FAILED
        assert manifest.failure == "RuntimeError: observer broke"
        assert read_results(run_dir.path).collect().height >= 5
        assert run_cli(["run", path, "--resume", run_dir.path, "-q"]) == 0
    assert results_of(run_dir.path)["request_key"].n_unique() == 24
    assert results_of(run_dir.path).height == 24
    final = json.loads((run_dir.path / "manifest.json").read_text())
    assert final["status"] == "complete"
