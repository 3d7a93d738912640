"""One writer per run directory: an advisory lock held while a process writes to it.

The lock is `flock(LOCK_EX | LOCK_NB)` on `<run dir>/run.lock`, which holds the writer's PID.
The kernel drops the lock when its holder exits, however it exits (a `kill -9` included), so
a lock left by a killed process is stale by construction and the next writer simply takes it
over. A second writer while the first is alive gets RunStoreError naming the holder's PID.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from runner.errors import RunStoreError

LOCK = "run.lock"


class RunLock:
    """Held from `acquire()` (or `with`) until `release()`."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock; RunStoreError naming the PID that holds it when another does."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise RunStoreError(
                f"{self.path.parent} is being written by another beta-runner (process "
                f"{holder}); wait for it to finish, or stop it, before continuing this run."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock up (the file stays; its PID is stale once unlocked)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
