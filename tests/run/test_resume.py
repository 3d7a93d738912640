"""Stopping and continuing runs: kill -9 then --resume, signals, --retry-errors, refusals."""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from e2e_support import attempts_of, results_of, run_cli, write_experiment
from resume_support import (
    SLOW,
    arrivals,
    keys_on_disk,
    manifest_of,
    slow_experiment,
    start_child,
    wait_for_rows,
)

from runner.emulator import EmulatorConfig, EmulatorServer

pytestmark = pytest.mark.slow

CASES = 160
FAST = EmulatorConfig(ttft_ms=5.0, ms_per_output_token=0.05, jitter=0.0)


@pytest.fixture
def slow_server() -> Iterator[EmulatorServer]:
    """An emulator answering each request in 60 ms, so a 4-wide run of 160 takes seconds."""
    with EmulatorServer(SLOW) as server:
        yield server


def _check_whole(run_dir: Path) -> pl.DataFrame:
    results = results_of(run_dir)
    assert results.height == CASES
    assert results["request_key"].n_unique() == CASES
    assert (results["status"] == "ok").all()
    attempts = attempts_of(run_dir)
    assert attempts.height - results.height == (results["attempts"] - 1).sum()
    return results


def test_kill_9_at_a_random_moment_then_resume_sends_each_missing_request_only(
    tmp_path: Path, slow_server: EmulatorServer, keyed: str
) -> None:
    """After SIGKILL mid-run, --resume re-sends no request that had a row; one row each."""
    experiment = slow_experiment(tmp_path, slow_server.url, CASES)
    run_dir = tmp_path / "out" / "e2e" / "k"
    child = start_child(experiment, tmp_path / "out", "k")
    wait_for_rows(child, run_dir)
    pause = random.uniform(0.0, 0.8)
    time.sleep(pause)  # noqa: TID251 -- a random moment in another process's run
    child.kill()
    child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL
    done = keys_on_disk(run_dir)
    assert 0 < len(done) < CASES, f"pause {pause:.2f}s"
    before = len(slow_server.app.received)
    code = run_cli(["run", experiment, "--resume", run_dir, "--concurrency", "32", "-q"])
    assert code == 0
    resent = arrivals(slow_server, before)
    assert not done & set(resent), f"pause {pause:.2f}s: completed requests were re-sent"
    assert len(resent) == CASES - len(done)
    _check_whole(run_dir)
    manifest = manifest_of(run_dir)
    assert manifest["status"] == "complete"
    assert [r["mode"] for r in manifest["resumes"]] == ["resume"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("signum", "code"),
    [
        pytest.param(signal.SIGINT, 130, id="SIGINT"),
        pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
    ],
)
def test_signal_stops_the_run_keeps_finished_rows_and_resume_completes_it(
    tmp_path: Path, slow_server: EmulatorServer, keyed: str, signum: int, code: int
) -> None:
    """A signal mid-run exits 130/143, manifest interrupted, rows kept; --resume finishes."""
    experiment = slow_experiment(tmp_path, slow_server.url, CASES)
    run_dir = tmp_path / "out" / "e2e" / "s"
    child = start_child(experiment, tmp_path / "out", "s")
    wait_for_rows(child, run_dir)
    child.send_signal(signum)
    out, err = child.communicate(timeout=20)
    assert child.returncode == code, err.decode()
    assert b"Traceback" not in err
    assert b"Run interrupted" in out
    hint = b" ".join(err.split())  # stderr wraps at 80 columns
    assert b"Resume it with: beta-runner run " + str(experiment).encode() in hint
    assert b"--resume " + str(run_dir).encode() in hint
    manifest = manifest_of(run_dir)
    assert manifest["status"] == "interrupted"
    done = keys_on_disk(run_dir)
    assert 0 < len(done) < CASES
    assert manifest["counts"]["requests"] == len(done)  # type: ignore[index]
    before = len(slow_server.app.received)
    resume = ["run", experiment, "--resume", "latest", "--results", tmp_path / "out"]
    assert run_cli([*resume, "--concurrency", "32"]) == 0  # the rest at once: seconds less
    assert not done & set(arrivals(slow_server, before))
    _check_whole(run_dir)
    assert manifest_of(run_dir)["status"] == "complete"


def test_resume_of_a_complete_run_says_nothing_is_left_to_send(
    tmp_path: Path, slow_server: EmulatorServer, keyed: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """--resume on a complete run sends nothing and says so; --retry-errors likewise."""
    experiment = slow_experiment(tmp_path, slow_server.url, 2)
    results = tmp_path / "out"
    assert run_cli(["run", experiment, "--run-id", "done", "--results", results, "-q"]) == 0
    before = len(slow_server.app.received)
    capfd.readouterr()
    for flag in ("--resume", "--retry-errors"):
        assert run_cli(["run", experiment, flag, "latest", "--results", results, "-q"]) == 0
    err = " ".join(capfd.readouterr().err.split())
    assert err.count("Nothing left to send:") == 2
    assert "has no request left" in err
    assert "has no request whose final row is an error" in err
    assert len(slow_server.app.received) == before


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads /proc")
@pytest.mark.parametrize(
    ("library", "how"),
    [
        pytest.param(False, "--resume {run_dir}", id="cli"),
        pytest.param(True, "resume='{run_dir}'", id="library"),
    ],
)
def test_second_sigint_exits_at_once_without_a_traceback(
    tmp_path: Path, slow_server: EmulatorServer, library: bool, how: str
) -> None:
    """Two Ctrl-C in a row: the second forces exit 130 with a one-line message saying how
    to continue as the caller would: the flag on the command line, the keyword in Python."""
    # A short run can finish its graceful stop before the second press arrives (a race the
    # test cannot close from outside): such a try is whole and clean, and the test tries again.
    experiment = slow_experiment(tmp_path, slow_server.url, CASES)
    forced = []
    for attempt in range(3):
        run_id = f"f{attempt}"
        child = start_child(experiment, tmp_path / "out", run_id, library=library)
        run_dir = tmp_path / "out" / "e2e" / run_id
        wait_for_rows(child, run_dir)
        child.send_signal(signal.SIGINT)
        _wait_until_delivered(child.pid, signal.SIGINT)  # two presses, not one coalesced
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=20)
        assert child.returncode == 130
        assert b"Traceback" not in err
        forced.append(b"Stopped at once by a second signal" in err)
        if forced[-1]:
            assert f"(continue with {how.format(run_dir=run_dir)}).\n" in err.decode()
            break
    assert any(forced), "no try was stopped at once by the second signal"


def _wait_until_delivered(pid: int, signum: int) -> None:
    """Return once `signum` sent to `pid` is no longer pending (its handler has taken it).

    A second signal sent while the first is still pending merges with it: under load the
    child may not run for milliseconds, so a fixed pause between presses made one press."""
    status = Path(f"/proc/{pid}/status")
    bit = 1 << (signum - 1)
    deadline = time.monotonic() + 20
    while any(
        int(line.split()[1], 16) & bit
        for line in status.read_text().splitlines()
        if line.startswith(("SigPnd:", "ShdPnd:"))
    ):
        assert time.monotonic() < deadline, "the signal was never delivered"
        time.sleep(0.0005)  # noqa: TID251 -- polling another process's state


def test_retry_errors_resends_only_error_rows_and_keeps_their_attempts(
    tmp_path: Path, keyed: str
) -> None:
    """--retry-errors re-sends the error rows only; the new row wins, old attempts stay."""
    prompts = (("ok1", "Fine."), ("bad", "Fails once. [[emulator:server_error]]"), ("ok2", "Hi."))
    with EmulatorServer(FAST) as server:
        experiment = write_experiment(
            tmp_path,
            server.url,
            arms=(("baseline", ()),),
            prompts=prompts,
            run="concurrency = 2\n[run.retry]\nmax_attempts = 1",
        )
        assert run_cli(["run", experiment, "--results", tmp_path / "out", "--run-id", "r"]) == 0
        run_dir = tmp_path / "out" / "e2e" / "r"
        first = results_of(run_dir)
        assert first.filter(pl.col("status") == "error")["case_id"].to_list() == ["bad"]
        sent_before = len(server.app.received)
        assert run_cli(["run", experiment, "--retry-errors", run_dir, "-q"]) == 0
        assert len(server.app.received) == sent_before + 1
    results = results_of(run_dir)
    assert results.height == 3
    bad = results.filter(pl.col("case_id") == "bad").row(0, named=True)
    assert (bad["status"], bad["attempts"]) == ("ok", 2)
    tried = attempts_of(run_dir).filter(pl.col("case_id") == "bad").sort("attempt")
    assert tried["attempt"].to_list() == [1, 2]
    assert tried["error_type"].to_list() == ["server_error", None]
    assert results.filter(pl.col("case_id") != "bad").equals(
        first.filter(pl.col("case_id") != "bad")
    )
    manifest = manifest_of(run_dir)
    assert manifest["counts"] == {"planned": 3, "requests": 3, "ok": 3, "errors": 0, "attempts": 4}
    entry = manifest["resumes"][0]  # type: ignore[index]
    assert (entry["mode"], entry["sending"], entry["ok"]) == ("retry-errors", 1, 1)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        pytest.param(("Say hello.", "Say goodbye."), "cases", id="cases"),
        pytest.param(('name = "beta"', 'name = "beta2"'), "arms", id="arms"),
        pytest.param(('["claude-opus-4-6"]', '["claude-sonnet-5"]'), "models", id="models"),
        pytest.param(("max_tokens = 64", "max_tokens = 65"), "request", id="request"),
        pytest.param(("repeats = 1", "repeats = 2"), "repeats", id="repeats"),
        pytest.param(("concurrency = 4", "concurrency = 4\nseed = 7"), "seed", id="seed"),
        pytest.param(("2023-06-01", "2026-10-21"), "anthropic_version", id="version"),
        pytest.param(('name = "e2e"', 'name = "other"'), "name", id="experiment-name"),
    ],
)
def test_resume_refuses_a_changed_experiment_naming_what_changed(
    tmp_path: Path,
    keyed: str,
    capfd: pytest.CaptureFixture[str],
    change: tuple[str, str],
    named: str,
) -> None:
    """A changed section exits 2 naming it; the run directory is left exactly as it was."""
    with EmulatorServer(FAST) as server:
        experiment = write_experiment(tmp_path, server.url)
        assert run_cli(["run", experiment, "--results", tmp_path / "out", "--run-id", "r"]) == 0
        run_dir = tmp_path / "out" / "e2e" / "r"
        before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
        capfd.readouterr()
        text = experiment.read_text()
        assert change[0] in text
        experiment.write_text(text.replace(change[0], change[1], 1))
        code = run_cli(["run", experiment, "--resume", run_dir, "-q"])
        sent = len(server.app.received)
    err = capfd.readouterr().err
    assert code == 2
    assert f": {named} changed since" in err
    assert "Traceback" not in err
    assert sent == 2
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


def _not_a_run(tmp_path: Path) -> Path:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("hello")
    return tmp_path / "plain"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--resume", "{tmp}/missing"], "no such directory", id="resume-missing"),
        pytest.param(["--resume", "{tmp}/plain"], "not a run directory", id="resume-not-a-run"),
        pytest.param(["--resume", "{tmp}/plain/notes.txt"], "no such directory", id="resume-file"),
        pytest.param(["--resume", "latest"], "there is no run of 'e2e'", id="resume-latest-none"),
        pytest.param(["--retry-errors", "{tmp}/missing"], "no such directory", id="retry-missing"),
        pytest.param(
            ["--retry-errors", "{tmp}/plain"], "not a run directory", id="retry-not-a-run"
        ),
        pytest.param(["--retry-errors", "latest"], "there is no run", id="retry-latest-none"),
        pytest.param(
            ["--resume", "latest", "--retry-errors", "latest"], "not both", id="both-flags"
        ),
        pytest.param(["--resume", "latest", "--run-id", "x"], "--run-id", id="resume-with-run-id"),
        pytest.param(["--fail-on", "p50_latency_ms>>3"], "p50_latency_ms>>3", id="bad-fail-on"),
        pytest.param(["--fail-on", "nope<3"], "unknown metric 'nope'", id="unknown-metric"),
    ],
)
def test_bad_resume_or_retry_target_exits_2_and_writes_nothing(
    tmp_path: Path,
    keyed: str,
    capfd: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    """A missing dir, a non-run dir, `latest` with no runs or bad flags: exit 2, nothing written."""
    experiment = write_experiment(tmp_path, "http://127.0.0.1:9")
    _not_a_run(tmp_path)
    resolved = [a.replace("{tmp}", str(tmp_path)) for a in args]
    before = sorted(tmp_path.rglob("*"))
    code = run_cli(["run", experiment, "--results", tmp_path / "out", "-q", *resolved])
    err = capfd.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert sorted(tmp_path.rglob("*")) == before
