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
from runner.run.stop import Stop


async def close(
    run_dir: RunDirectory,
    manifest: Manifest,
    writer: RowWriter,
    stop: Stop,
    failure: Exception | None,
    scrub: Callable[[str], str],
) -> Manifest:
    """Compact (not after a failure) and write the closing manifest; returns it."""
    writer.journal.close()
    closed = await _closed(run_dir, manifest, _session_counts(writer), stop, failure, scrub)
    run_dir.write_manifest(closed)
    return closed


def run_failed(run_dir: RunDirectory, failure: Exception, scrub: Callable[[str], str]) -> RunFailed:
    """The error a broken run raises, naming its first cause with the API key scrubbed."""
    error = RunFailed(run_dir.path, _first_leaf(failure))
    error.args = (scrub(str(error)),)  # the message is what main prints
    return error


async def _closed(
    run_dir: RunDirectory,
    manifest: Manifest,
    session: Counts,
    stop: Stop,
    failure: Exception | None,
    scrub: Callable[[str], str],
) -> Manifest:
    if failure is not None:
        closed = manifest.finished(RunStatus.FAILED, utc_now(), manifest.counts, session)
        leaf = _first_leaf(failure)
        return dataclasses.replace(closed, failure=scrub(f"{type(leaf).__name__}: {leaf}"))
    counts = await _compacted(run_dir, manifest.counts.planned)
    if stop.unusable is not None:
        closed = manifest.finished(RunStatus.FAILED, utc_now(), counts, session)
        return dataclasses.replace(closed, failure=scrub(str(stop.unusable)))
    status = RunStatus.INTERRUPTED if stop.signals else RunStatus.COMPLETE
    return manifest.finished(status, utc_now(), counts, session)


async def _compacted(run_dir: RunDirectory, planned: int) -> Counts:
    """Retire the journal, compact the parts, and count what the run's tables hold."""
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
