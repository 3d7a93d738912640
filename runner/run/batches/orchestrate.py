"""Sending a run's requests as Message Batches: create, poll, collect, resubmit.

Round by round: the pending requests are grouped into batches (by model and arm, since the
`anthropic-beta` header applies to a whole batch) and created, each recorded in the run's
ledger at once; every open batch is polled with growing intervals until it has ended, and its
results are streamed line by line into attempt rows and, for requests that are finished,
result rows. Requests that ended expired, or errored in a retryable way, go to the next round
while attempts remain. A resume first re-reads the results of the newest batch that holds each
unfinished request (results are free to read), so nothing is paid for twice.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from runner.clock import utc_now
from runner.config.types import Experiment
from runner.errors import BatchNotProcessed, NotMessagesAPI, RequestFailed
from runner.http.client import AttemptOutcome, PreparedRequest
from runner.http.retry import retried
from runner.plan.matrix import PlannedRequest
from runner.results.writer import Row
from runner.run.batches.chunks import Chunk, chunk_requests
from runner.run.batches.collect import outcome_of
from runner.run.batches.ledger import BatchLedger, BatchRecord
from runner.run.rows import Totals, attempt_row, result_row
from runner.run.services import RunServices, messages_client

BATCHES_PATH = "/v1/messages/batches"


@dataclass(frozen=True)
class BatchOptions:
    """How batches are sized and polled."""

    max_requests: int = 10_000
    poll_initial_s: float = 1.0
    poll_max_s: float = 30.0


@dataclass
class _State:
    """Where every request of this session stands, and the stream its rows are sent on."""

    by_key: dict[str, PlannedRequest]
    attempts: dict[str, int]
    pending: set[str]
    rows: MemoryObjectSendStream[Row]
    resubmit: set[str] = field(default_factory=set)
    round: int = 1


class BatchSender:
    """A run's sender (see `runner.run.session.execute_run`) that uses Message Batches."""

    def __init__(
        self,
        experiment: Experiment,
        run_id: str,
        services: RunServices,
        run_dir: Path,
        options: BatchOptions | None = None,
    ) -> None:
        self._experiment = experiment
        self._run_id = run_id
        self._services = services
        self._ledger = BatchLedger(run_dir)
        self._options = options or BatchOptions()
        # No loop lag is marked: a batch's result is not one HTTP exchange the client timed.
        self._client = messages_client(experiment, dataclasses.replace(services, lag=None))

    async def __call__(
        self,
        todo: list[PlannedRequest],
        rows: MemoryObjectSendStream[Row],
        prior: Mapping[str, int],
    ) -> None:
        """Send `todo` until every request has its final row (or the run is cancelled)."""
        state = _State(
            {p.key: p for p in todo},
            {p.key: prior.get(p.key, 0) for p in todo},
            {p.key for p in todo},
            rows,
        )
        open_batches = self._ledger.newest_holding(state.pending)
        state.round = 1 + max((r.round for r in open_batches), default=0)
        while state.pending:
            covered = {key for keys in open_batches.values() for key in keys}
            unsent = state.pending - covered
            fresh = [state.by_key[k] for k in state.by_key if k in unsent]
            open_batches.update(await self._create_all(fresh, state))
            async with anyio.create_task_group() as group:
                for record, keys in open_batches.items():
                    group.start_soon(self._finish, record, set(keys), state)
            open_batches = {}
            state.pending, state.resubmit = state.resubmit, set()
            state.round += 1

    async def _create_all(
        self, fresh: list[PlannedRequest], state: _State
    ) -> dict[BatchRecord, list[str]]:
        created: dict[BatchRecord, list[str]] = {}
        chunks = chunk_requests(self._experiment, fresh, max_requests=self._options.max_requests)
        for chunk in chunks:
            headers = chunk.arm.request_headers()
            outcome = await self._call(PreparedRequest(BATCHES_PATH, chunk.body, headers))
            if outcome.error is not None or outcome.message is None:
                await self._fail_all(chunk.requests, outcome, state)
                continue
            record = _record(outcome.message, chunk, state.round)
            self._ledger.add(record)
            created[record] = list(record.keys)
        return created

    async def _finish(self, record: BatchRecord, keys: set[str], state: _State) -> None:
        batch = await self._until_ended(record.batch_id)
        if batch.error is not None or batch.message is None:
            await self._fail_all([state.by_key[k] for k in keys], batch, state)
            return
        sent_at = _parse_time(record.created_at)
        url = str(batch.message.get("results_url"))
        collect = functools.partial(self._collect, url, keys, sent_at, record, state)
        try:  # a download cut or refused is read again (free); settled keys are skipped
            await retried(self._experiment.run.retry, self._services.sleep, collect)
        except (RequestFailed, ValueError) as exc:  # unreadable results: rows, not a crash
            failed = AttemptOutcome(sent_at, error=_unreadable(exc, record.batch_id))
            for key in sorted(keys):
                await self._settle(state.by_key[key], failed, record, state)
            return
        for key in keys:  # listed in the batch but absent from its results: as if expired
            missing = AttemptOutcome(sent_at, error=BatchNotProcessed("expired"))
            await self._settle(state.by_key[key], missing, record, state)

    async def _collect(
        self, url: str, keys: set[str], sent_at: datetime, record: BatchRecord, state: _State
    ) -> None:
        """Settle each request of `keys` whose line the results at `url` hold."""
        async for line in self._client.json_lines(url):
            key = str(line.get("custom_id"))
            if key in keys:
                keys.discard(key)
                outcome = outcome_of(line, sent_at)
                await self._settle(state.by_key[key], outcome, record, state)

    async def _until_ended(self, batch_id: str) -> AttemptOutcome:
        delay = self._options.poll_initial_s
        while True:
            outcome = await self._call(
                PreparedRequest(f"{BATCHES_PATH}/{batch_id}", b"", method="GET")
            )
            ended = outcome.message and outcome.message.get("processing_status") == "ended"
            if outcome.error is not None or ended:
                return outcome
            await self._services.sleep(delay)
            delay = min(delay * 1.5, self._options.poll_max_s)

    async def _call(self, prepared: PreparedRequest) -> AttemptOutcome:
        """One API call, retried like any request (429, 529, 5xx, connection errors)."""

        async def once() -> AttemptOutcome:
            outcome = await self._client.send(prepared)
            if outcome.error is not None:
                raise outcome.error
            return outcome

        try:
            result = await retried(self._experiment.run.retry, self._services.sleep, once)
        except RequestFailed as failure:
            return AttemptOutcome(utc_now(), error=failure, http_status=failure.info.status)
        return result

    async def _settle(
        self,
        planned: PlannedRequest,
        outcome: AttemptOutcome,
        record: BatchRecord | None,
        state: _State,
    ) -> None:
        key = planned.key
        state.attempts[key] += 1
        attempts = state.attempts[key]
        batch_id = record.batch_id if record else None
        retry = outcome.error is not None and outcome.error.retryable
        with anyio.CancelScope(shield=True):  # a collected result is never lost
            await state.rows.send(attempt_row(self._run_id, planned, attempts, outcome, 0.0, None))
            if retry and attempts < self._experiment.run.retry.max_attempts:
                state.resubmit.add(key)
                return
            totals = Totals(attempts, 0.0, 0.0, outcome.sent_at)
            await state.rows.send(result_row(self._run_id, planned, outcome, totals, batch_id))

    async def _fail_all(
        self, requests: Iterable[PlannedRequest], outcome: AttemptOutcome, state: _State
    ) -> None:
        for planned in requests:
            await self._settle(planned, outcome, None, state)


def _unreadable(exc: RequestFailed | ValueError, batch_id: str) -> RequestFailed:
    """The failure recorded for the requests a batch's results could not give: the download's
    own failure, or a malformed results line read as an answer that is not the API's."""
    if isinstance(exc, RequestFailed):
        return exc
    return NotMessagesAPI(f"The results of batch {batch_id} could not be read: {exc}.")


def _record(batch: dict[str, Any], chunk: Chunk, round_number: int) -> BatchRecord:
    return BatchRecord(
        batch_id=str(batch["id"]),
        model=chunk.model,
        arm=chunk.arm.name,
        round=round_number,
        created_at=str(batch.get("created_at") or utc_now().isoformat()),
        keys=tuple(chunk.keys),
    )


def _parse_time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return utc_now()
