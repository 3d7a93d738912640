"""The Message Batches endpoints: create, retrieve, list, cancel, delete and results.

Every endpoint checks the body size, auth, `anthropic-version` and the `anthropic-beta` names
as Messages does (`?beta=true` is accepted and ignored); the version and betas of the create
call apply to every request in the batch. Create checks the envelope only: 1 to 100,000
requests, each `{custom_id, params}` with a unique custom_id matching `^[a-zA-Z0-9_-]{1,64}$`
and params an object. The params themselves are checked when the request is processed, and a
bad one ends `errored`, as the API documents. List is newest first, `limit` 1-1000 (default
20), with `after_id` paging towards older batches and `before_id` towards newer ones.
Delete needs processing to have ended (else 400 invalid_request_error). Results stream as
JSON Lines in request order with content-type `application/binary`, the type the SDK asks for
in `Accept`; asking before the batch has ended is a 400 invalid_request_error (the emulator's
choice; the SDK never asks, since `results_url` is null until then).

Not modelled: the 256 MB limit is the only size check (no per-request size), batches are not
charged to any rate limit (the API has separate batch limits; these calls do not touch the
Messages buckets), results never expire or get archived, and every API key sees every batch
(one workspace).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs

import anyio.lowlevel

from runner.emulator.batch_results import results as result_lines
from runner.emulator.batch_results import tally
from runner.emulator.batches import BATCHES_PATH, Batch, BatchRequests
from runner.emulator.errors import invalid_request, new_id
from runner.emulator.handlers import Call, Handler, State, check_headers, response_headers
from runner.emulator.request import Obj
from runner.emulator.tokens import canonical
from runner.emulator.wire import dumps, finish, send_chunk, send_json, start

MAX_REQUESTS = 100_000
MAX_BODY_BYTES = 256 * 1024 * 1024
MAX_LIMIT = 1000
DEFAULT_LIMIT = 20
RESULTS_TYPE = "application/binary"
LINES_PER_CHUNK = 100
CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_FIELDS = frozenset({"custom_id", "params"})


async def create(state: State, call: Call) -> None:
    """Store a new batch; it is `in_progress` for `batch_processing_s`."""
    version, betas = check_headers(state, call)
    if call.body_error is not None:
        raise call.body_error
    requests = parse_requests(call.body)
    now = state.clock()
    ends = now + state.config.batch_processing_s
    created_at = datetime.now(UTC)
    batch = Batch(
        new_id("msgbatch_"), requests, version, betas, now, created_at, ends, len(requests)
    )
    state.batches.add(batch)
    await _answer(state, call, _view(state, call, batch))


async def retrieve(state: State, call: Call) -> None:
    """The MessageBatch, its status computed from the clock."""
    check_headers(state, call)
    await _answer(state, call, _view(state, call, state.batches.get(_batch_id(call))))


async def list_batches(state: State, call: Call) -> None:
    """A page of batches, newest first."""
    check_headers(state, call)
    limit, after_id, before_id = _list_query(call.query)
    batches, has_more = state.batches.page(limit, after_id, before_id)
    data = [_view(state, call, batch) for batch in batches]
    first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
    page = {"data": data, "has_more": has_more, "first_id": first, "last_id": last}
    await _answer(state, call, page)


async def cancel(state: State, call: Call) -> None:
    """Start canceling: the batch is `canceling` until the request in flight finishes."""
    check_headers(state, call)
    batch = state.batches.get(_batch_id(call))
    batch.cancel(state.clock())
    await _answer(state, call, _view(state, call, batch))


async def delete(state: State, call: Call) -> None:
    """Forget an ended batch."""
    check_headers(state, call)
    batch_id = _batch_id(call)
    state.batches.delete(batch_id, state.clock())
    await _answer(state, call, {"id": batch_id, "type": "message_batch_deleted"})


async def results(state: State, call: Call) -> None:
    """The results as JSON Lines, generated while they are sent."""
    check_headers(state, call)
    batch = state.batches.get(_batch_id(call))
    now = state.clock()
    if not batch.ended(now):
        raise invalid_request(
            f"Message Batch {batch.id} is {batch.status(now)}; its results can be read once "
            "processing has ended (when results_url is set)."
        )
    await start(call.send, 200, [("content-type", RESULTS_TYPE), *response_headers(state, call)])
    chunk: list[bytes] = []
    for line in result_lines(state.config, batch):
        chunk.append(dumps(line) + b"\n")
        if len(chunk) == LINES_PER_CHUNK:
            await send_chunk(call.send, b"".join(chunk))
            chunk = []
            await anyio.lowlevel.checkpoint()  # let other requests in during a long batch
    await send_chunk(call.send, b"".join(chunk))
    await finish(call.send)


_ROUTES: tuple[tuple[re.Pattern[str], dict[str, Handler]], ...] = (
    (re.compile(re.escape(BATCHES_PATH)), {"GET": list_batches, "POST": create}),
    (re.compile(re.escape(BATCHES_PATH) + r"/[^/]+"), {"DELETE": delete, "GET": retrieve}),
    (re.compile(re.escape(BATCHES_PATH) + r"/[^/]+/cancel"), {"POST": cancel}),
    (re.compile(re.escape(BATCHES_PATH) + r"/[^/]+/results"), {"GET": results}),
)


def batch_routes(path: str) -> dict[str, Handler] | None:
    """The handlers by method for a batch path, or None when the path is not one."""
    return next((methods for pattern, methods in _ROUTES if pattern.fullmatch(path)), None)


def parse_requests(body: object) -> BatchRequests:
    """The requests of a create body, or 400 naming the first field that is wrong."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    extra = sorted(set(body) - {"requests"})
    if extra:
        raise invalid_request(f"{extra[0]}: Extra inputs are not permitted")
    raw = body.get("requests")
    if not isinstance(raw, list):
        raise invalid_request("requests: Input should be a valid list")
    if not 1 <= len(raw) <= MAX_REQUESTS:
        raise invalid_request(
            f"requests: List should have between 1 and {MAX_REQUESTS} items, not {len(raw)}"
        )
    seen: dict[str, str] = {}
    for index, item in enumerate(raw):
        _request(index, item, seen)
    return BatchRequests(tuple(seen), tuple(seen.values()))


def _request(index: int, item: object, seen: dict[str, str]) -> None:
    """Check one request and add it to `seen` (custom_id to params), in order."""
    where = f"requests.{index}"
    if not isinstance(item, dict):
        raise invalid_request(f"{where}: Input should be an object")
    extra = sorted(set(item) - _FIELDS)
    if extra:
        raise invalid_request(f"{where}.{extra[0]}: Extra inputs are not permitted")
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not CUSTOM_ID.fullmatch(custom_id):
        raise invalid_request(
            f"{where}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
        )
    if custom_id in seen:
        raise invalid_request(
            f"{where}.custom_id: duplicate custom_id {custom_id!r}; each request in a batch "
            "needs its own."
        )
    params = item.get("params")
    if not isinstance(params, dict):
        raise invalid_request(f"{where}.params: Input should be an object")
    seen[custom_id] = canonical(params)


def _list_query(query: str) -> tuple[int, str | None, str | None]:
    fields = {name: values[-1] for name, values in parse_qs(query).items()}
    raw = fields.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise invalid_request(
            f"limit: Input should be an integer from 1 to {MAX_LIMIT}, not {raw!r}"
        )
    return int(raw), fields.get("after_id"), fields.get("before_id")


def _batch_id(call: Call) -> str:
    return call.path.split("/")[4]


def _view(state: State, call: Call, batch: Batch) -> Obj:
    """The MessageBatch object now; the final counts are computed on the first look after end."""
    now = state.clock()
    if batch.ended(now) and batch.counts is None:
        batch.counts = tally(state.config, batch)
    return batch.view(now, call.origin)


async def _answer(state: State, call: Call, body: Obj) -> None:
    await send_json(call.send, 200, body, response_headers(state, call))
