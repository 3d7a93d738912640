"""How a session ends on disk: the manifest it closes with, and the error a broken run raises.

A finished or interrupted session retires its journal (the writer has flushed everything it
holds), compacts the parts and counts the tables; so does one the target watch stopped, marked
"failed" with the watch's verdict. After an unexpected failure nothing is compacted (the parts
and the journal are kept for a resume) and the manifest is marked "failed" with the first cause.
Every message that reaches the manifest or the user has the API key scrubbed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import anyio

from runner.clock import utc_now
from runner.errors import RunFailed
from runner.results.manifest import Counts, Manifest, RunStatus
from runner.results.store import RunDirectory, table_counts
from runner.results.writer import RowWriter
from runner.run.sending import SessionParts
from runner.run.stop import Stop


async def close(
    parts: SessionParts, run_dir: RunDirectory, manifest: Manifest, failure: Exception | None
) -> Manifest:
    """Compact (not after a failure) and write the closing manifest; returns it."""
    parts.writer.journal.close()
    written = _session_counts(parts.writer)
    if failure is None:
        counts = await _compacted(run_dir, manifest.counts.planned)
    else:  # not compacted: the parts and the journal are kept for a resume
        counts = manifest.counts
    why = _why_failed(failure, parts.stop)
    status = _status(why, parts.stop)
    closed = manifest.finished(status, utc_now(), counts, written)
    if why is not None:
        closed = dataclasses.replace(closed, failure=parts.scrub(why))
    run_dir.write_manifest(closed)
    return closed


def run_failed(run_dir: RunDirectory, failure: Exception, scrub: Callable[[str], str]) -> RunFailed:
    """The error a broken run raises, naming its first cause with the API key scrubbed."""
    error = RunFailed(run_dir.path, _first_leaf(failure))
    error.args = (scrub(str(error)),)  # the message is what main prints
    return error


def _why_failed(failure: Exception | None, stop: Stop) -> str | None:
    """The unexpected error's first cause, or the target watch's verdict; None if neither."""
    if failure is not None:
        leaf = _first_leaf(failure)
        return f"{type(leaf).__name__}: {leaf}"
    return str(stop.unusable) if stop.unusable is not None else None


def _status(why_failed: str | None, stop: Stop) -> RunStatus:
    if why_failed is not None:
        return RunStatus.FAILED
    return RunStatus.INTERRUPTED if stop.signals else RunStatus.COMPLETE


async def _compacted(run_dir: RunDirectory, planned: int) -> Counts:
    """Retire the journal (the writer has flushed everything it holds), compact the parts,
    and count what the run's tables hold."""
    run_dir.retire_journal()
    await anyio.to_thread.run_sync(run_dir.compact)
    return Counts(planned=planned, **table_counts(run_dir.path))


def _first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _session_counts(writer: RowWriter) -> Counts:
    written = writer.counts
    return Counts(0, written["requests"], written["ok"], written["errors"], written["attempts"])
