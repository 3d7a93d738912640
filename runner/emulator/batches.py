"""Stored Message Batches: what is kept per batch, its lifecycle on the clock, its JSON object.

A batch keeps its custom_ids and params (as canonical JSON), the API version and betas of the
create call, each request's arrival number and a few times; never a generated message. As on
the live path, a request's draws (faults, expiry) depend on how often it arrived before: the
n-th batch holding the same custom_id, params and betas draws anew, so a resubmitted request
that expired or failed can succeed. Processing is modelled as the
requests answered one after another, evenly spread over `batch_processing_s`: the batch is
`in_progress` until then and `ended` after, computed from the clock whenever it is looked at.
A cancel lets the request in flight finish: the batch is `canceling` until that request's turn
ends, then `ended`, with every later request `canceled`. Until a batch ends every request counts
as `processing`; its final counts are computed once, on the first look after it ended.
Timestamps are RFC 3339 in UTC, derived from the wall time at creation plus monotonic time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from runner.emulator.counters import SeenCounter
from runner.emulator.errors import invalid_request, not_found
from runner.emulator.request import Obj

BATCHES_PATH = "/v1/messages/batches"
EXPIRY = timedelta(hours=24)
RESULT_TYPES = ("succeeded", "errored", "canceled", "expired")


@dataclass(frozen=True)
class BatchRequests:
    """A batch's requests in order: custom_ids, and params as canonical JSON.

    Tuples of str: small, and not tracked by the garbage collector, so a stored
    100,000-request batch costs little memory and no collection time.
    """

    custom_ids: tuple[str, ...]
    params: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.custom_ids)


@dataclass
class Batch:
    """A batch and where it is in its lifecycle; `counts` fills in once it has ended."""

    id: str
    requests: BatchRequests
    version: str
    betas: tuple[str, ...]
    created: float
    created_at: datetime
    ends: float
    processed: int
    cancel_at: float | None = None
    counts: dict[str, int] | None = field(default=None, repr=False)
    arrivals: tuple[int, ...] = field(default=(), repr=False)

    def key(self, index: int) -> str:
        """What identifies request `index` across batches: betas, custom_id and params."""
        betas = ",".join(sorted(self.betas))
        requests = self.requests
        return f"{BATCHES_PATH}\0{betas}\0{requests.custom_ids[index]}\0{requests.params[index]}"

    def ended(self, now: float) -> bool:
        """Whether processing has ended at monotonic time `now`."""
        return now >= self.ends

    def status(self, now: float) -> str:
        """`in_progress`, `canceling` or `ended`."""
        if self.ended(now):
            return "ended"
        return "in_progress" if self.cancel_at is None else "canceling"

    def cancel(self, now: float) -> None:
        """Cancel: the request in flight finishes, the ones after it will be `canceled`."""
        if self.cancel_at is not None or self.ended(now):
            return
        total = len(self.requests)
        share = (now - self.created) / (self.ends - self.created)
        self.processed = min(total, math.floor(share * total) + 1)
        self.ends = self.created + (self.ends - self.created) * self.processed / total
        self.cancel_at = now

    def view(self, now: float, origin: str) -> Obj:
        """The MessageBatch object; `origin` (scheme and host) makes `results_url` absolute."""
        ended = self.ended(now)
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": self.status(now),
            "request_counts": self._counts(ended),
            "created_at": rfc3339(self.created_at),
            "expires_at": rfc3339(self.created_at + EXPIRY),
            "ended_at": self._wall(self.ends) if ended else None,
            "cancel_initiated_at": None if self.cancel_at is None else self._wall(self.cancel_at),
            "archived_at": None,
            "results_url": f"{origin}{BATCHES_PATH}/{self.id}/results" if ended else None,
        }

    def _counts(self, ended: bool) -> dict[str, int]:
        if ended and self.counts is not None:
            return {"processing": 0, **self.counts}
        return {"processing": len(self.requests), **dict.fromkeys(RESULT_TYPES, 0)}

    def _wall(self, at: float) -> str:
        return rfc3339(self.created_at + timedelta(seconds=at - self.created))


def rfc3339(moment: datetime) -> str:
    """A UTC time as the API writes it, e.g. `2024-08-20T18:37:24.100435Z`."""
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


class BatchStore:
    """Every batch of the app, oldest first; ids stay known as cursors after a delete."""

    def __init__(self) -> None:
        self._batches: dict[str, Batch] = {}
        self._order: dict[str, int] = {}
        self._arrivals = SeenCounter()

    def add(self, batch: Batch) -> None:
        """Store a new batch and number each request's arrival (earlier batches holding it)."""
        self._batches[batch.id] = batch
        self._order[batch.id] = len(self._order)
        batch.arrivals = tuple(self._arrive(batch.key(i)) for i in range(len(batch.requests)))

    def _arrive(self, key: str) -> int:
        return self._arrivals.seen(key)

    def get(self, batch_id: str) -> Batch:
        """The batch, or 404 not_found_error."""
        batch = self._batches.get(batch_id)
        if batch is None:
            raise not_found(f"No Message Batch with id {batch_id!r}.")
        return batch

    def delete(self, batch_id: str, now: float) -> None:
        """Forget an ended batch; 400 while it is still processing."""
        batch = self.get(batch_id)
        if not batch.ended(now):
            raise invalid_request(
                f"Message Batch {batch_id} is {batch.status(now)} and cannot be deleted until "
                "processing has ended; cancel it first if you no longer need it."
            )
        del self._batches[batch_id]

    def page(
        self, limit: int, after_id: str | None, before_id: str | None
    ) -> tuple[list[Batch], bool]:
        """Up to `limit` batches, newest first, between the cursors, and whether there are more.

        `after_id` pages towards older batches, `before_id` towards newer ones, as the API's
        cursors do.
        """
        after = self._position(after_id, "after_id")
        before = self._position(before_id, "before_id")
        newest_first = [
            b
            for b in reversed(self._batches.values())
            if _between(self._order[b.id], before, after)
        ]
        if before_id is not None and after_id is None:
            return newest_first[-limit:], len(newest_first) > limit
        return newest_first[:limit], len(newest_first) > limit

    def _position(self, batch_id: str | None, name: str) -> int | None:
        if batch_id is None:
            return None
        if batch_id not in self._order:
            raise invalid_request(f"{name}: no Message Batch with id {batch_id!r}.")
        return self._order[batch_id]


def _between(position: int, before: int | None, after: int | None) -> bool:
    """Whether a batch is newer than the `before_id` cursor and older than the `after_id` one."""
    return (before is None or position > before) and (after is None or position < after)
