"""How a run is stopped: by signals, or by the target watch, and the exit code that follows.

A first SIGINT/SIGTERM cancels the work scope (in-flight attempts are cancelled) and the
scoring scope, so the writer still flushes what finished and the run closes as "interrupted";
a second signal exits the process at once. The exit code is that of the first signal
(130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from dataclasses import dataclass, field

import anyio

from runner.errors import TargetUnusable
from runner.run.target import TargetWatch

_EXIT_BY_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}


@dataclass
class Stop:
    """The work scope that signals cancel, and the signals received so far."""

    work: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    scoring: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    signals: list[int] = field(default_factory=list)
    target: TargetWatch | None = None
    resume: str = "--resume"  # how the caller continues the run

    @property
    def unusable(self) -> TargetUnusable | None:
        """Why the target watch stopped the run, if it did."""
        return self.target.verdict if self.target is not None else None

    def exit_code(self) -> int:
        """0, or the exit code of the first signal."""
        if not self.signals:
            return 0
        return _EXIT_BY_SIGNAL.get(signal.Signals(self.signals[0]), 130)


async def watch_signals(stop: Stop) -> None:
    """First SIGINT/SIGTERM: stop sending and let the writer finish. Second: exit at once."""
    if threading.current_thread() is not threading.main_thread():
        return
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
        async for signum in received:
            stop.signals.append(int(signum))
            if len(stop.signals) > 1:
                _force_exit(stop.exit_code(), stop.resume)
            stop.work.cancel()
            stop.scoring.cancel()


def _force_exit(code: int, resume: str) -> None:
    # Deliberately abrupt: parts already on disk are whole (atomic renames) and a resume
    # picks up from them; waiting for anything else is what the user asked us not to do.
    sys.stderr.write(
        "Stopped at once by a second signal; finished rows already written are kept "
        f"(continue with {resume}).\n"
    )
    sys.stderr.flush()
    os._exit(code)
