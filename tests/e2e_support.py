"""Support for end-to-end tests: writing experiment files, running the CLI in-process and a run
in virtual time."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path

import anyio
import httpx
import polars as pl
from virtual_time import VirtualTime

from runner.cli.main import main
from runner.config.types import Experiment
from runner.run.session import RunOutcome, RunServices, create_run_directory, execute_run

SECRET = "sk-ant-test-NEVER-WRITE-THIS-0123456789"


def write_experiment(
    directory: Path,
    base_url: str,
    *,
    arms: Sequence[tuple[str, Sequence[str]]] = (
        ("baseline", ()),
        ("beta", ("fast-mode-2026-02-01",)),
    ),
    prompts: Sequence[tuple[str, str]] = (("c1", "Say hello."),),
    models: Sequence[str] = ("claude-opus-4-6",),
    run: str = "repeats = 1\nconcurrency = 4",
    extra: str = "",
    version: str = "2023-06-01",
) -> Path:
    """A small experiment file pointing at `base_url`; returns its path."""
    lines = [
        'name = "e2e"',
        f"models = {json.dumps(list(models))}",
        "[target]",
        f'base_url = "{base_url}"',
        f'anthropic_version = "{version}"',
        "[run]",
        run,
        "[request]",
        "max_tokens = 64",
        extra,
    ]
    for name, betas in arms:
        lines += ["[[arms]]", f'name = "{name}"', f"betas = {json.dumps(list(betas))}"]
    for case_id, prompt in prompts:
        lines += ["[[cases]]", f'id = "{case_id}"', f"prompt = {json.dumps(prompt)}"]
    path = directory / "experiment.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_cli(args: Iterable[str]) -> int:
    """Run `beta-runner ARGS` in this process and return its exit code."""
    return main([str(a) for a in args])


def results_of(run_dir: Path) -> pl.DataFrame:
    """The compacted results table of a run directory."""
    return pl.read_parquet(run_dir / "results.parquet")


def attempts_of(run_dir: Path) -> pl.DataFrame:
    """The compacted attempts table of a run directory."""
    return pl.read_parquet(run_dir / "attempts.parquet")


def free_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def finished_local_run(folder: Path) -> Path:
    """Run the e2e experiment locally into folder/results as run "r1"; returns `folder`."""
    experiment = write_experiment(folder, "http://127.0.0.1:9")
    args = ["run", experiment, "--local", "--run-id", "r1", "-q", "--results", folder / "results"]
    assert run_cli(args) == 0
    return folder


async def run_in_virtual_time(
    tmp_path: Path, experiment: Experiment, transport: httpx.AsyncBaseTransport, time: VirtualTime
) -> RunOutcome:
    """Run `experiment` once (run id r1, under `tmp_path / "results"`) through `transport`,
    every sleep and clock reading in `time`, which is driven meanwhile."""
    run_dir = create_run_directory(tmp_path / "results", experiment, "r1", 0)
    async with httpx.AsyncClient(transport=transport) as http:
        services = RunServices(http, SECRET, time, time.sleep)
        async with anyio.create_task_group() as group:
            group.start_soon(time.drive)
            outcome = await execute_run(experiment, run_dir, "r1", services)
            group.cancel_scope.cancel()
    return outcome
