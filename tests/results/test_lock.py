"""One writer per run directory: the lock names its holder and a stale one is taken over."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.errors import RunStoreError
from runner.results.lock import LOCK, RunLock


def test_a_second_writer_is_refused_naming_the_holders_pid(tmp_path: Path) -> None:
    """While one lock is held, another acquire fails naming the PID; after release it works."""
    first = RunLock(tmp_path).acquire()
    with pytest.raises(RunStoreError, match=rf"another beta-runner \(process {os.getpid()}\)"):
        RunLock(tmp_path).acquire()
    first.release()
    with RunLock(tmp_path):
        assert (tmp_path / LOCK).read_text().strip() == str(os.getpid())


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    """A lock file whose holder is gone (the kernel dropped its lock) is simply taken."""
    (tmp_path / LOCK).write_text("999999999\n")
    with RunLock(tmp_path):
        assert (tmp_path / LOCK).read_text().strip() == str(os.getpid())
