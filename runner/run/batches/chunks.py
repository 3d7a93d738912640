"""Grouping planned requests into batches and encoding each batch's create body.

A batch holds requests of one (model, arm) only, at most `max_requests` of them and at most
`max_bytes` of JSON (the API's limits are 100,000 requests and 256 MB per batch).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from runner.config.types import Arm, Experiment
from runner.plan.matrix import PlannedRequest, request_body

API_MAX_REQUESTS = 100_000
API_MAX_BYTES = 256_000_000


@dataclass(frozen=True)
class Chunk:
    """One batch to create: its arm and model, its requests and the encoded create body."""

    model: str
    arm: Arm
    requests: tuple[PlannedRequest, ...]
    body: bytes

    @property
    def keys(self) -> list[str]:
        """The request keys, which are also the batch's `custom_id`s."""
        return [p.key for p in self.requests]


def chunk_requests(
    experiment: Experiment,
    planned: Iterable[PlannedRequest],
    *,
    max_requests: int = 10_000,
    max_bytes: int = 200_000_000,
) -> Iterator[Chunk]:
    """Batches in a stable order: by model, then arm, each at most the given size."""
    groups: dict[tuple[str, str], list[PlannedRequest]] = {}
    for request in planned:
        groups.setdefault((request.model, request.arm.name), []).append(request)
    limit = min(max_requests, API_MAX_REQUESTS)
    for requests in groups.values():
        yield from _split(experiment, requests, limit, min(max_bytes, API_MAX_BYTES))


def _split(
    experiment: Experiment, requests: list[PlannedRequest], limit: int, max_bytes: int
) -> Iterator[Chunk]:
    items: list[bytes] = []
    members: list[PlannedRequest] = []
    size = 0
    for request in requests:
        item = _item(experiment, request)
        if members and (len(members) >= limit or size + len(item) + 32 > max_bytes):
            yield _chunk(members, items)
            items, members, size = [], [], 0
        items.append(item)
        members.append(request)
        size += len(item) + 1
    if members:
        yield _chunk(members, items)


def _item(experiment: Experiment, request: PlannedRequest) -> bytes:
    params = request_body(experiment, request)
    params.pop("stream", None)  # batch requests are never streamed
    return json.dumps({"custom_id": request.key, "params": params}, separators=(",", ":")).encode()


def _chunk(members: list[PlannedRequest], items: list[bytes]) -> Chunk:
    body = b'{"requests":[' + b",".join(items) + b"]}"
    return Chunk(members[0].model, members[0].arm, tuple(members), body)
