"""Every answer durable the moment it arrives: `kill -9` at random and at the worst moments
of a 1,200-request run, then `--resume`, sends again at most what was in flight; two
writers of one run directory cannot both run.

The emulator answers at once (zero latency) and counts what it received, so the tests count
how often each request was sent across the kills and resumes. Each session is a real process
(`beta-runner run` forked from a helper that has imported the runner once, `forked_cli`), so
a kill is a real SIGKILL without paying Python's start-up for every session.
"""

from __future__ import annotations

import os
import random
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from e2e_support import SECRET, write_experiment
from forked_cli import ForkedChild, Forker
from resume_support import ARM, MODEL, arrivals, keys_on_disk, manifest_of

from runner.emulator import EmulatorConfig, EmulatorServer
from runner.plan.matrix import request_key
from runner.results.lock import LOCK
from runner.results.store import read_attempts, read_results

pytestmark = pytest.mark.slow

CASES = 1200
CONCURRENCY = 8
INSTANT = EmulatorConfig(
    ttft_ms=0.0, ms_per_output_token=0.0, ms_per_1k_input_tokens=0.0, jitter=0.0,
    fixed_latency_ms=0.0,
)  # fmt: skip


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """A zero-latency emulator that records every request."""
    with EmulatorServer(INSTANT) as running:
        yield running


@pytest.fixture
def forker(tmp_path: Path) -> Iterator[Forker]:
    """The helper that forks each session, with the test key in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["ANTHROPIC_API_KEY"] = SECRET
    helper = Forker(env, tmp_path)
    try:
        yield helper
    finally:
        helper.close()


def _experiment(directory: Path, url: str) -> Path:
    prompts = [(f"c{i}", f"Case c{i}: say something.") for i in range(CASES)]
    run = f"concurrency = {CONCURRENCY}"
    arms = ((ARM, ()),)
    return write_experiment(directory, url, arms=arms, prompts=prompts, models=(MODEL,), run=run)


def _child(forker: Forker, experiment: Path, results: Path, *args: str) -> ForkedChild:
    return forker.start(["run", str(experiment), "--results", str(results), "-q", *args])


def _kill_when(child: ForkedChild, moment: Callable[[], bool]) -> None:
    """SIGKILL the child as soon as `moment()` holds (polled every millisecond), unless it
    ends by itself first."""
    deadline = time.monotonic() + 60
    while not moment():
        if child.poll() is not None:
            _, err = child.communicate(timeout=30)
            assert child.returncode == 0, err
            return
        assert time.monotonic() < deadline, "the moment never came"
        time.sleep(0.001)  # noqa: TID251 -- polling another process's files
    child.kill()
    child.communicate(timeout=30)


def _durable(run_dir: Path) -> set[str]:
    return keys_on_disk(run_dir) if (run_dir / "manifest.json").is_file() else set()


def _journal_lines(run_dir: Path) -> int:
    path = run_dir / "journal.jsonl"
    return path.read_bytes().count(b"\n") if path.is_file() else 0


def _journal_id(run_dir: Path) -> int | None:
    try:
        return (run_dir / "journal.jsonl").stat().st_ino
    except FileNotFoundError:
        return None


def _this_sessions_journal(run_dir: Path, lines: int) -> Callable[[], bool]:
    """True once this session's journal (not the killed one's it folds in first) has `lines`."""
    before = _journal_id(run_dir)

    def written() -> bool:
        now = _journal_id(run_dir)
        return now is not None and now != before and _journal_lines(run_dir) >= lines

    return written


def _moments(
    run_dir: Path, rng: random.Random
) -> list[tuple[str, Callable[[], Callable[[], bool]]]]:
    """When to kill each session (made when the session starts): the worst moments, then a
    random one."""
    parts = run_dir / "parts"

    def after_random_delay() -> Callable[[], bool]:
        journaled = _this_sessions_journal(run_dir, 1)
        delay, began = rng.uniform(0.0, 1.0), []

        def due() -> bool:  # `delay` seconds after this session's first journal record
            if not began and journaled():
                began.append(time.monotonic())
            return bool(began) and time.monotonic() - began[0] > delay

        return due

    return [
        ("run directory created", lambda: lambda: (run_dir / "manifest.json").is_file()),
        ("a part written", lambda: lambda: any(parts.glob("results-*.parquet"))),
        ("the journal written", lambda: _this_sessions_journal(run_dir, 3)),
        ("a random moment", after_random_delay),
        ("during compaction", lambda: lambda: any(run_dir.glob(".*.parquet.*.tmp"))),
    ]


def test_kill_9_at_the_worst_and_random_moments_then_resume_never_pays_twice(
    tmp_path: Path, server: EmulatorServer, forker: Forker
) -> None:
    """Five sessions killed with SIGKILL (at directory creation, after a part, after journal
    records, at a random moment, during compaction), each resumed: one row per request at the
    end, no request durable before a kill was sent again, and at most the requests in flight
    at each kill were sent twice."""
    experiment = _experiment(tmp_path, server.url)
    results, run_dir = tmp_path / "out", tmp_path / "out" / "e2e" / "k"
    rng = random.Random(int.from_bytes(os.urandom(4)))
    resent_total = 0
    for index, (name, when) in enumerate(_moments(run_dir, rng)):
        args = ["--run-id", "k"] if index == 0 else ["--resume", str(run_dir)]
        before = len(server.app.received)
        durable_before = _durable(run_dir)
        moment = when()
        child = _child(forker, experiment, results, *args)
        _kill_when(child, moment)
        sent = arrivals(server, before)
        assert not durable_before & set(sent), f"{name}: a durable request was sent again"
        if child.returncode == 0:  # the session ended before the moment could be hit
            continue
        assert child.returncode == -signal.SIGKILL, name
        lost = set(sent) - _durable(run_dir)  # answered (or in flight) but not durable
        assert len(lost) <= CONCURRENCY, f"{name}: {len(lost)} answers lost"
        resent_total += len(lost)
    before = len(server.app.received)
    durable = _durable(run_dir)
    final = _child(forker, experiment, results, "--resume", str(run_dir))
    final.communicate(timeout=120)
    assert final.returncode == 0
    assert not durable & set(arrivals(server, before))
    _check_one_row_each(run_dir, arrivals(server))
    assert manifest_of(run_dir)["status"] == "complete"


def _check_one_row_each(run_dir: Path, sent: Counter[str]) -> None:
    frame = read_results(run_dir).collect()
    keys = {request_key(f"c{i}", MODEL, ARM, 0) for i in range(CASES)}
    assert frame.height == CASES
    assert set(frame["request_key"]) == keys
    assert (frame["status"] == "ok").all()
    assert sum(sent.values()) - CASES <= 5 * CONCURRENCY  # re-sent: only what was in flight
    attempts = read_attempts(run_dir).collect()
    assert attempts.filter(pl.col("status") == "ok").height >= CASES


def test_a_second_writer_exits_2_naming_the_first_and_the_data_stays_whole(
    tmp_path: Path, server: EmulatorServer, forker: Forker
) -> None:
    """While one `--resume` runs (after a kill: it takes over the stale lock), a second
    `--resume` of the same run exits 2 naming the first one's PID and sends nothing; the
    first completes with one row per request."""
    experiment = _experiment(tmp_path, server.url)
    results, run_dir = tmp_path / "out", tmp_path / "out" / "e2e" / "k"
    first = _child(forker, experiment, results, "--run-id", "k")
    _kill_when(first, _this_sessions_journal(run_dir, 3))
    resuming = _child(forker, experiment, results, "--resume", str(run_dir))
    deadline = time.monotonic() + 30
    while (run_dir / LOCK).read_text().strip() != str(resuming.pid):  # the killed one's first
        assert time.monotonic() < deadline
        time.sleep(0.001)  # noqa: TID251 -- polling another process's files
    # Frozen while holding the lock, the first is still running however long the second takes
    # to start on a loaded machine (a paced emulator only made that likely, and slow).
    resuming.send_signal(signal.SIGSTOP)
    try:
        before = len(server.app.received)
        second = _child(forker, experiment, results, "--resume", str(run_dir))
        _, err = second.communicate(timeout=60)
    finally:
        resuming.send_signal(signal.SIGCONT)
    assert second.returncode == 2, err
    assert f"(process {resuming.pid})" in err.decode()
    resuming.communicate(timeout=120)
    assert resuming.returncode == 0
    assert len(arrivals(server, before)) <= CASES
    _check_one_row_each(run_dir, arrivals(server))


def test_a_disk_that_refuses_writes_mid_run_keeps_what_finished_and_resume_completes(
    tmp_path: Path, server: EmulatorServer, forker: Forker
) -> None:
    """Writes past 512 KiB a file fail (EFBIG, as on a full disk): the run stops with exit 1
    and one line saying to resume, no traceback, no half-written table; `--resume` then
    sends only what has no row and ends with one row per request."""
    experiment = _experiment(tmp_path, server.url)
    results, run_dir = tmp_path / "out", tmp_path / "out" / "e2e" / "k"
    full = forker.start(
        ["run", str(experiment), "--results", str(results), "-q", "--run-id", "k"],
        max_file_bytes=512 * 1024,  # the manifest fits, the journal of 1,200 answers not
    )
    _, err = full.communicate(timeout=60)
    lines = err.decode().splitlines()
    assert full.returncode == 1, err
    assert len(lines) == 1, err
    assert re.match(rf"error: The run stopped: {re.escape(str(run_dir))}/\S+: File too large\. ",
                    lines[0]), lines[0]  # fmt: skip
    assert "make room" in lines[0], lines[0]
    assert "--resume" in lines[0], lines[0]
    assert not list(run_dir.rglob("*.tmp"))
    durable = _durable(run_dir)
    before = len(server.app.received)
    resumed = _child(forker, experiment, results, "--resume", str(run_dir))
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert not durable & set(arrivals(server, before))
    _check_one_row_each(run_dir, arrivals(server))
