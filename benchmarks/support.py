"""What the benchmarks share: an emulator in its own process, small experiment builders, and
a run through beta-runner's whole path.

The emulator runs in a separate process so that the CPU time a benchmark reports is the
client's alone.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from runner.config.types import (
    Arm,
    Case,
    Experiment,
    RateLimits,
    RetryPolicy,
    RunSettings,
    Target,
)
from runner.plan.matrix import PlannedRequest
from runner.results.store import RunDirectory
from runner.results.writer import ResultObserver
from runner.run.services import http_client
from runner.run.session import RunServices, create_run_directory, execute_run

MODEL = "claude-sonnet-5"
ZERO_LATENCY = ("rpm=0", "itpm=0", "otpm=0", "ttft_ms=0", "ms_per_output_token=0", "jitter=0")
ARMS = (
    Arm("baseline"),
    Arm("context-management", ("context-management-2025-06-27",)),
    Arm("window-exceeded", ("model-context-window-exceeded-2025-08-26",)),
)


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def emulator_process(settings: Sequence[str], cpu: int | None = None) -> Iterator[str]:
    """`beta-runner emulate` in a child process (pinned to core `cpu` if given); yields its
    base URL once it answers."""
    with emulator_child(settings, cpu) as (url, _):
        yield url


@contextmanager
def emulator_child(settings: Sequence[str], cpu: int | None = None) -> Iterator[tuple[str, int]]:
    """Like `emulator_process`, yielding the base URL and the child's process id."""
    port = free_port()
    command = [sys.executable, "-m", "runner", "emulate", "--port", str(port)]
    for setting in settings:
        command += ["--set", setting]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as child:
        if cpu is not None:
            os.sched_setaffinity(child.pid, {cpu})
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url)
            yield url, child.pid
        finally:
            child.terminate()
            child.wait(timeout=10)


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 60  # a loaded machine starts a Python process slowly
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)  # noqa: TID251 -- polling another process, outside any event loop
    raise RuntimeError(f"The emulator at {url} did not start.")


def experiment(
    base_url: str,
    *,
    cases: int,
    repeats: int,
    concurrency: int,
    stream: bool = True,
    rate_limits: RateLimits | None = None,
    max_attempts: int = 10,
    max_tokens: int = 32,
    arms: Sequence[Arm] = ARMS,
) -> Experiment:
    """An experiment of `cases` x 1 model x arms x `repeats` short prompts."""
    return Experiment(
        name="benchmark",
        path=Path("benchmark.toml"),
        models=(MODEL,),
        arms=tuple(arms),
        cases=tuple(
            Case(f"case-{i}", ({"role": "user", "content": f"Question {i}: say something."},))
            for i in range(cases)
        ),
        target=Target(base_url=base_url),
        run=RunSettings(
            repeats=repeats,
            concurrency=concurrency,
            stream=stream,
            timeout_s=60.0,
            retry=RetryPolicy(max_attempts=max_attempts),
            rate_limits=rate_limits or RateLimits(),
        ),
        request={"max_tokens": max_tokens},
    )


def new_run(
    results_dir: Path, exp: Experiment, run_id: str, planned: Sequence[PlannedRequest] | None = None
) -> RunDirectory:
    """A fresh run directory for `exp`, its manifest planning `planned` (default: the whole
    matrix, counted without planning it: the run plans it)."""
    sending = len(planned) if planned is not None else exp.request_count
    return create_run_directory(results_dir, exp, run_id, sending)


async def run_through(
    exp: Experiment,
    run_dir: RunDirectory,
    run_id: str,
    api_key: str = "bench-key",
    observer: ResultObserver | None = None,
    planned: Sequence[PlannedRequest] | None = None,
) -> None:
    """Run `exp` (or only its `planned` requests) into `run_dir` as `beta-runner run` would:
    its transport, real time."""
    async with http_client(exp.run.concurrency, 60.0) as http:
        services = RunServices.real(http, api_key, observer)
        await execute_run(exp, run_dir, run_id, services, planned)
