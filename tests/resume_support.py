"""Support for resume and stop tests: a slow emulator, a run in a child process, arrivals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from e2e_support import SECRET, write_experiment

from runner.emulator import EmulatorConfig, EmulatorServer
from runner.plan.matrix import request_key
from runner.results.store import read_results

MODEL = "claude-opus-4-6"
ARM = "baseline"
SLOW = EmulatorConfig(ttft_ms=20.0, fixed_latency_ms=60.0, jitter=0.0)


def slow_experiment(directory: Path, url: str, cases: int) -> Path:
    """`cases` one-arm requests whose prompt names the case, so arrivals map to request keys."""
    prompts = [(f"c{i}", f"Case c{i}: say something.") for i in range(cases)]
    return write_experiment(
        directory, url, arms=((ARM, ()),), prompts=prompts, models=(MODEL,), run="concurrency = 4"
    )


def start_child(
    experiment: Path, results: Path, run_id: str, *, library: bool = False
) -> subprocess.Popen[bytes]:
    """`python -m runner run ...` (or, with `library`, a script calling
    `runner.run_experiment`) in a child process with the test key in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["ANTHROPIC_API_KEY"] = SECRET
    if library:
        script = "import runner, sys; runner.run_experiment(sys.argv[1], results_dir=sys.argv[2], "
        script += "run_id=sys.argv[3])"
        command = [sys.executable, "-c", script, str(experiment), str(results), run_id]
    else:
        command = [sys.executable, "-m", "runner", "run", str(experiment)]
        command += ["--results", str(results), "--run-id", run_id, "-q"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def wait_for_rows(
    child: subprocess.Popen[bytes], run_dir: Path, table: str = "results", timeout_s: float = 20.0
) -> None:
    """Return once the child has written a part of `table` (it must still be running)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if list((run_dir / "parts").glob(f"{table}-*.parquet")):
            assert child.poll() is None, "the run ended before it could be stopped"
            return
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        time.sleep(0.02)  # noqa: TID251 -- polling another process's files
    raise AssertionError(f"no {table} part was written in time")


def keys_on_disk(run_dir: Path) -> set[str]:
    """The request keys that have a final row in the run (parts and compacted)."""
    return set(read_results(run_dir).collect()["request_key"])


def arrivals(server: EmulatorServer, start: int = 0) -> Counter[str]:
    """How often each request key reached the emulator, from arrival number `start` on."""
    counted: Counter[str] = Counter()
    for received in server.app.received[start:]:
        body = received.body
        assert isinstance(body, dict)
        case_id = body["messages"][0]["content"].split(":")[0].removeprefix("Case ")
        counted[request_key(case_id, MODEL, ARM, 0)] += 1
    return counted


def manifest_of(run_dir: Path) -> dict[str, object]:
    """The run's manifest."""
    loaded: dict[str, object] = json.loads((run_dir / "manifest.json").read_text())
    return loaded
