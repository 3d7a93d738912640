"""The command line as a user meets it: exit codes, messages, plan, betas, --local, emulate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import polars as pl
import pytest
from bad_inputs import BadInput, bad_inputs
from e2e_support import free_port, results_of, run_cli

from runner.emulator import server_stack

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "experiments" / "quickstart.toml"


@pytest.mark.parametrize("bad", bad_inputs(), ids=lambda b: b.id)
def test_bad_experiment_exits_2_naming_file_and_key_with_no_run_dir(
    bad: BadInput,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    keyed: str,
) -> None:
    """Every malformed input exits 2 with one line naming file and key; nothing is written."""
    for name, value in bad.env.items():
        monkeypatch.setenv(name, value)
    code = run_cli(["run", bad.path, "--results", tmp_path / "out", "-q", *bad.argv])
    err = capfd.readouterr().err
    assert code == 2
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    if bad.file is not None:
        assert str(bad.file) in err
    assert bad.where in err
    assert bad.message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_plan_prints_the_matrix_and_request_count(capfd: pytest.CaptureFixture[str]) -> None:
    """plan shows each arm's header value and the total, and sends nothing."""
    assert run_cli(["plan", QUICKSTART]) == 0
    out = capfd.readouterr().out
    assert "6 cases x 2 models" in out
    assert "= 72 requests" in out
    assert "fast-mode-2026-02-01,model-context-window-exceeded-2025-08-26" in out
    assert "(none)" in out


def test_plan_says_which_cases_are_conversations(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """plan counts conversations and their max_turns, and prices them as their turns."""
    agent = QUICKSTART.parent / "agent_tools.toml"
    assert run_cli(["plan", agent]) == 0
    out = capfd.readouterr().out
    assert "8 of the cases are conversations" in out
    assert "up to 10 requests to the model (max_turns)" in out
    assert "= 128 requests" in out
    assert "Traceback" not in out
    assert "quickstart" not in out


def test_betas_lists_the_catalog(capfd: pytest.CaptureFixture[str]) -> None:
    """betas prints known names with what they need."""
    assert run_cli(["betas"]) == 0
    out = capfd.readouterr().out
    for name in ("interleaved-thinking-2025-05-14", "context-1m-2025-08-07"):
        assert name in out


def test_usage_errors_exit_2(capfd: pytest.CaptureFixture[str]) -> None:
    """An unknown option or conflicting flags exit 2 with a message, not a traceback."""
    assert run_cli(["run", QUICKSTART, "--no-such-flag"]) == 2
    assert run_cli(["run", QUICKSTART, "--local", "--base-url", "http://127.0.0.1:1"]) == 2
    assert run_cli(["run", QUICKSTART, "--local", "--emulator", "nonsense=1"]) == 2
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert "--local or --base-url" in err


def test_missing_experiment_file_exits_2(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A path that does not exist is a config error naming it."""
    assert run_cli(["plan", tmp_path / "nope.toml"]) == 2
    assert "nope.toml" in capfd.readouterr().err


@pytest.mark.slow
def test_quickstart_runs_locally_as_the_readme_says(tmp_path: Path) -> None:
    """`python -m runner run experiments/quickstart.toml --local` completes and prints a table."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner",
            "run",
            str(QUICKSTART),
            "--local",
            "--results",
            str(tmp_path / "results"),
            "--run-id",
            "qs",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "per-arm summary" in completed.stdout
    assert "Run complete: 72 requests" in completed.stdout
    run_dir = tmp_path / "results" / "quickstart" / "qs"
    results = results_of(run_dir)
    assert results.height == 72
    assert set(results["arm"]) == {"baseline", "fast", "fast+window-exceeded"}
    assert results.filter(pl.col("status") == "ok").height == 72
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"


@pytest.mark.slow
def test_emulate_serves_until_interrupted() -> None:
    """`beta-runner emulate` answers the Messages API on loopback and stops on SIGINT; it says
    which event loop and HTTP parser it serves on, and its lateness report names them too."""
    port = free_port()
    command = [sys.executable, "-m", "runner", "emulate", "--port", str(port)]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        try:
            response = _post_when_up(port)
            url = f"http://127.0.0.1:{port}/_emulator/lateness"
            report = httpx.get(url, timeout=5).json()
        finally:
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=10)
    assert response.status_code == 200
    assert response.json()["type"] == "message"
    assert response.headers["request-id"].startswith("req_")
    assert b"Traceback" not in err
    assert (report["loop"], report["http"]) == server_stack()
    assert " + ".join(server_stack()) in err.decode()
    assert [r["request_id"] for r in report["requests"]] == [response.headers["request-id"]]


def _post_when_up(port: int) -> httpx.Response:
    body = {
        "model": "claude-sonnet-5",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    for _ in range(100):
        try:
            return httpx.post(
                f"http://127.0.0.1:{port}/v1/messages", json=body, headers=headers, timeout=5
            )
        except httpx.ConnectError:
            import time

            time.sleep(0.1)  # noqa: TID251 -- waiting for another process to bind its port
    raise AssertionError("the emulator never started")
