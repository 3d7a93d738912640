"""The single writer task: rows arrive on a memory stream and reach disk in small batches.

A batch is flushed as soon as it holds `flush_rows` rows or `flush_interval_s` has passed since
the last flush, and once more when the stream closes or the writer is cancelled or fails, so
a crash of the process loses at most one batch and an error in the run loses nothing received.
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

import anyio
from anyio.abc import ObjectReceiveStream

from runner.results.schema import STATUS_OK, AttemptRow, JudgeRequestRow, ResultRow, ScoreRow
from runner.results.store import RunDirectory

Row = ResultRow | AttemptRow | ScoreRow | JudgeRequestRow


class ResultObserver(Protocol):
    """Told about every final result (a progress bar, for instance)."""

    def result(self, row: ResultRow) -> None:
        """One request finished."""
        ...


class RowWriter:
    """Buffers rows and appends them to a run directory; counts what it wrote."""

    def __init__(
        self,
        run_dir: RunDirectory,
        observer: ResultObserver | None = None,
        *,
        flush_rows: int = 256,
        flush_interval_s: float = 1.0,
    ) -> None:
        self._run_dir = run_dir
        self._observer = observer
        self._flush_rows = flush_rows
        self._interval = flush_interval_s
        self._results: list[ResultRow] = []
        self._attempts: list[AttemptRow] = []
        self._scores: list[ScoreRow] = []
        self._judges: list[JudgeRequestRow] = []
        self.counts: Counter[str] = Counter()

    async def consume(self, rows: ObjectReceiveStream[Row]) -> None:
        """Write everything received until the stream closes."""
        try:
            async with rows:
                await self._drain(rows)
        finally:  # also when cancelled or failing: what was received reaches disk
            self.flush()

    async def _drain(self, rows: ObjectReceiveStream[Row]) -> None:
        deadline = anyio.current_time() + self._interval
        while True:
            with anyio.move_on_at(deadline):
                try:
                    self._take(await rows.receive())
                except anyio.EndOfStream:
                    return
                if self._buffered() < self._flush_rows:
                    continue
            await anyio.to_thread.run_sync(self.flush)
            deadline = anyio.current_time() + self._interval

    def flush(self) -> None:
        """Append the buffered rows as one part (nothing when empty)."""
        results, attempts = self._results, self._attempts
        scores, judges = self._scores, self._judges
        self._results, self._attempts, self._scores, self._judges = [], [], [], []
        self._run_dir.append(results, attempts, scores, judges)

    def _buffered(self) -> int:
        return len(self._results) + len(self._attempts) + len(self._scores) + len(self._judges)

    def _take(self, row: Row) -> None:
        if isinstance(row, ScoreRow):
            self._scores.append(row)
            self.counts["scores"] += 1
            return
        if isinstance(row, JudgeRequestRow):
            self._judges.append(row)
            self.counts["judge_requests"] += 1
            return
        if isinstance(row, AttemptRow):
            self._attempts.append(row)
            self.counts["attempts"] += 1
            return
        self._results.append(row)
        self.counts["requests"] += 1
        self.counts["ok" if row.status == STATUS_OK else "errors"] += 1
        if self._observer is not None:
            self._observer.result(row)
