"""Support for end-to-end tests: writing experiment files and running the CLI in-process."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from runner.cli.main import main

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
