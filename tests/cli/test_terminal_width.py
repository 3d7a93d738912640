"""What a new user sees at 80 columns: every line fits, through a pipe and in a real terminal."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.cells import cell_len

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "experiments" / "quickstart.toml"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _env(columns: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = columns
    return env


def _cli(*args: str | Path, columns: str | None = "80") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(columns),
        check=False,
    )


def _all_at_once(*commands: tuple[str | Path, ...]) -> list[subprocess.CompletedProcess[str]]:
    """Each command in its own process at 80 columns, all started together (they are
    independent; most of each one's time is Python starting up)."""
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "runner", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env("80"),
        )
        for args in commands
    ]
    done = []
    for child in started:
        out, err = child.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(child.args, child.returncode, out, err))
    return done


def _too_wide(text: str, width: int = 80) -> list[str]:
    return [line for line in text.splitlines() if cell_len(line) > width]


@pytest.mark.slow
def test_every_command_fits_80_columns_through_a_pipe(tmp_path: Path) -> None:
    """COLUMNS=80 into a pipe: run, plan, compare, history, betas and check print no wider line,
    and the per-arm summary keeps model, arm, request and error counts, p50 latency and cost."""
    results = tmp_path / "results"
    ran, *independent = _all_at_once(
        ("run", QUICKSTART, "--local", "--results", results, "--run-id", "qs", "-q"),
        ("plan", QUICKSTART),
        ("betas",),
        ("check", QUICKSTART, "--local"),
    )
    assert ran.returncode == 0, ran.stderr
    summary = ran.stdout.splitlines()
    header = next(line for line in summary if line.startswith("model"))
    assert header.split() == ["model", "arm", "n", "err", "p50", "ms", "ttft", "ms", "cost", "$"]
    of_the_run = _all_at_once(
        ("compare", results / "quickstart" / "qs"),
        ("history", QUICKSTART, "--results", results),
    )
    outputs = [ran.stdout, ran.stderr]
    for done in [*independent, *of_the_run]:
        assert done.returncode == 0, done.stderr
        outputs += [done.stdout, done.stderr]
    assert [line for text in outputs for line in _too_wide(text)] == []


@pytest.mark.slow
def test_a_wide_terminal_gets_the_whole_summary(tmp_path: Path) -> None:
    """COLUMNS=200 asks for the wide layout: every summary column is there."""
    instant = ("--emulator", "ttft_ms=0", "--emulator", "ms_per_output_token=0")  # layout only
    ran = _cli("run", QUICKSTART, "--local", "--results", tmp_path, "-q", *instant, columns="200")
    assert ran.returncode == 0, ran.stderr
    for column in ("ok", "errors by type", "p95 ms", "out tok"):
        assert column in ran.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None or shutil.which("script") is None, reason="tmux")
def test_plan_and_run_fit_an_80_column_tmux_pane(tmp_path: Path) -> None:
    """In a real 80-column terminal (a tmux pane, no COLUMNS), rich's own detection fits it."""
    typescript = tmp_path / "typescript"
    beta_runner = f"{sys.executable} -m runner"
    commands = (
        f"{beta_runner} plan {QUICKSTART} && "
        f"{beta_runner} run {QUICKSTART} --local -q --results {tmp_path / 'results'}"
    )
    shell = f"env -u COLUMNS -u ANTHROPIC_API_KEY script -q -e -c '{commands}' {typescript}"
    session = f"beta-runner-width-{os.getpid()}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "50", shell], check=True
    )
    try:
        deadline = time.monotonic() + 60
        while b"Script done" not in _read(typescript) and time.monotonic() < deadline:
            time.sleep(0.2)  # noqa: TID251 -- waiting for another process (the pane) to finish
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)
    text = _ANSI.sub("", _read(typescript).decode("utf-8", "replace")).replace("\r", "")
    body = text.split("\n")[1:-2]  # without script's own first and last lines
    assert 'COMMAND_EXIT_CODE="0"' in text
    assert "per-arm summary" in text
    assert [line for line in body if cell_len(line) > 80] == []


def _read(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""
