"""The single writer task: rows arrive on a memory stream and reach disk in small batches.

A batch is flushed as soon as it holds `flush_rows` rows (2,048 by default: each part costs a
few milliseconds whatever its size) or `flush_interval_s` has passed since the last flush, and
once more when the stream closes or the writer is cancelled or fails, so an error in the run
loses nothing received. What a `kill -9` could lose from the batch is in
the run's `journal` (see `runner.results.journal`), which the workers append to as each
request finishes.

A conversation's turn arrives as a `DurableTurn`, whose sender waits for it to be on disk
before it sends the next turn: the writer then flushes at once, together with every row that
has already arrived (a group commit), so after a crash a conversation resumes from its last
finished turn and no turn is ever sent twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from runner.results.journal import Journal
from runner.results.schema import (
    STATUS_OK,
    AttemptRow,
    JudgeRequestRow,
    ResultRow,
    ScoreRow,
    TurnRow,
)
from runner.results.store import RunDirectory


@dataclass
class DurableTurn:
    """A turn row whose sender waits on `written` (set once the row is on disk)."""

    row: TurnRow
    written: anyio.Event = field(default_factory=anyio.Event)


Row = ResultRow | AttemptRow | ScoreRow | JudgeRequestRow | DurableTurn


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
        flush_rows: int = 2048,
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
        self._turns: list[DurableTurn] = []
        self._buffered = 0  # rows in the five lists above, kept as they fill and empty
        self.counts: Counter[str] = Counter()
        self.journal = Journal(run_dir.path)

    async def consume(self, rows: MemoryObjectReceiveStream[Row]) -> None:
        """Write everything received until the stream closes."""
        try:
            async with rows:
                await self._drain(rows)
        finally:  # also when cancelled or failing: what was received reaches disk
            self._release(self.flush())

    async def _drain(self, rows: MemoryObjectReceiveStream[Row]) -> None:
        while True:
            # One cancel scope per batch, not per row: entering and leaving one cost more
            # than taking the row it waited for.
            with anyio.move_on_after(self._interval):
                try:
                    await self._fill(rows)
                except anyio.EndOfStream:
                    return
            if self._buffered:
                self._release(await anyio.to_thread.run_sync(self.flush))

    async def _fill(self, rows: MemoryObjectReceiveStream[Row]) -> None:
        """Take rows until the batch is full or holds a turn (EndOfStream when rows end)."""
        while not self._turns and self._buffered < self._flush_rows:
            self._take(await rows.receive())
            self._take_ready(rows)

    def _take_ready(self, rows: MemoryObjectReceiveStream[Row]) -> None:
        """Everything already waiting in the stream, so one flush commits it all."""
        while self._buffered < self._flush_rows:
            try:
                self._take(rows.receive_nowait())
            except anyio.WouldBlock:
                return

    def flush(self) -> list[DurableTurn]:
        """Append the buffered rows as one part (nothing when empty); the turns written."""
        results, attempts = self._results, self._attempts
        scores, judges, turns = self._scores, self._judges, self._turns
        self._results, self._attempts, self._scores, self._judges = [], [], [], []
        self._turns = []
        self._buffered = 0
        self._run_dir.append(results, attempts, scores, judges, [turn.row for turn in turns])
        return turns

    @staticmethod
    def _release(turns: list[DurableTurn]) -> None:
        for turn in turns:
            turn.written.set()

    def _take(self, row: Row) -> None:
        self._buffered += 1
        if isinstance(row, DurableTurn):
            self._turns.append(row)
            self.counts["turns"] += 1
            return
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
