"""`beta-runner` in child processes forked from one that has already imported it.

A kill test needs real processes (SIGKILL, its own files and sockets), but starting Python
and importing the runner takes about as long as a session of such a test runs. A `Forker`
starts one helper process that imports `runner.cli.main` and nothing else (no polars query
has run in it, so no thread pool exists to be forked), then forks it per session: each child
runs `main(ARGS)` as `python -m runner ARGS` does, with its stdout and stderr in files, and
exits with its exit code. The helper reaps its children and tells their exit status, so a
`ForkedChild` reads like a `subprocess.Popen` (`pid`, `poll`, `kill`, `send_signal`,
`communicate`, `returncode`: negative for a signal).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

# The helper: one JSON request a line on stdin, one JSON answer a line on stdout.
_HELPER = r"""
import json, os, resource, signal, sys, traceback
from runner.cli.main import main
requests, answers = sys.stdin, sys.stdout
for line in requests:
    ask = json.loads(line)
    if "run" in ask:
        pid = os.fork()
        if pid == 0:
            os.chdir(ask["cwd"])
            for fd, path in ((1, ask["stdout"]), (2, ask["stderr"])):
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
            os.close(0)
            if ask["max_file_bytes"] is not None:  # writes past it fail with EFBIG
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                limit = ask["max_file_bytes"]
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            code = 1
            try:
                code = main(ask["run"])
            except BaseException:  # as `python -m runner` would show it
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        answer = {"pid": pid}
    else:
        flags = 0 if ask["block"] else os.WNOHANG
        done, status = os.waitpid(ask["wait"], flags)
        answer = {"code": os.waitstatus_to_exitcode(status) if done else None}
    answers.write(json.dumps(answer) + "\n")
    answers.flush()
"""


class Forker:
    """The helper process; `start(args)` forks a `beta-runner ARGS` session from it."""

    def __init__(self, env: Mapping[str, str], workdir: Path) -> None:
        self._workdir = workdir
        self._helper = subprocess.Popen(
            [sys.executable, "-c", _HELPER],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=dict(env), text=True,
        )  # fmt: skip
        self._count = 0

    def start(self, args: Sequence[str], max_file_bytes: int | None = None) -> ForkedChild:
        """A new session running `beta-runner ARGS`; with `max_file_bytes`, a write that
        would make a file larger fails (EFBIG), as on a disk that is full."""
        self._count += 1
        out, err = (self._workdir / f"session-{self._count}.{n}" for n in ("out", "err"))
        ask = {"run": list(args), "cwd": str(self._workdir), "stdout": str(out)}
        ask.update(stderr=str(err), max_file_bytes=max_file_bytes)
        return ForkedChild(self, int(self.ask(ask)["pid"]), out, err)

    def ask(self, request: dict[str, object]) -> dict[str, int | None]:
        """One request to the helper and its answer."""
        assert self._helper.stdin is not None
        assert self._helper.stdout is not None
        self._helper.stdin.write(json.dumps(request) + "\n")
        self._helper.stdin.flush()
        answer: dict[str, int | None] = json.loads(self._helper.stdout.readline())
        return answer

    def close(self) -> None:
        """End the helper (its children have all been reaped by then)."""
        pipes: tuple[IO[str] | None, ...] = (self._helper.stdin, self._helper.stdout)
        for pipe in pipes:
            if pipe is not None:
                pipe.close()  # stdin first: the helper ends at its end
        self._helper.wait(timeout=30)


class ForkedChild:
    """One forked session, read like a `subprocess.Popen` with piped stdout and stderr."""

    def __init__(self, forker: Forker, pid: int, out: Path, err: Path) -> None:
        self._forker = forker
        self.pid = pid
        self._out, self._err = out, err
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit code if the session has ended (negative: killed by that signal)."""
        if self.returncode is None:
            self.returncode = self._forker.ask({"wait": self.pid, "block": False})["code"]
        return self.returncode

    def send_signal(self, number: int) -> None:
        """Send the session a signal (unless it has already been reaped)."""
        if self.returncode is None:
            os.kill(self.pid, number)

    def kill(self) -> None:
        """SIGKILL the session."""
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float = 60) -> tuple[bytes, bytes]:
        """Wait for the session to end (at most `timeout` s), then its stdout and stderr."""
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            assert time.monotonic() < deadline, f"session {self.pid} did not end in {timeout} s"
            time.sleep(0.005)  # noqa: TID251 -- waiting for another process
        return self._out.read_bytes(), self._err.read_bytes()
