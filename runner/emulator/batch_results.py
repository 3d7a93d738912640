"""Message Batch results, produced on demand from the stored params; nothing generated is kept.

Each request's outcome is a function of the seed, the batch's API version and betas, the
request's custom_id and params, and its arrival number (how many earlier batches held the same
request, so a resubmission draws anew); reading the results twice gives the same lines:

- a request after the one in flight when the batch was canceled: `canceled`;
- a seeded share (`batch_expire_share`) of the rest: `expired`;
- otherwise the request is answered by `reply.produce`, as `POST /v1/messages` would answer
  it under the create call's version and betas, but without latency, prompt cache (no reads
  or writes), rate limits or arrival counts: a `succeeded` Message whose `usage.service_tier`
  is `batch`, or `errored` with the whole error envelope the live call would have earned
  (invalid params, an unknown model, a seeded `p_overloaded`/`p_server_error` fault or a
  prompt directive). Connection faults (`p_drop_stream`, `p_error_event`) have nothing to cut.
  `stream: true` is an errored invalid_request_error.

The n-th request in a batch asking the same question gets the n-th sample, as repeated calls
would. Message ids and error request ids are derived from the batch id and the custom_id.
Counting the outcomes (`tally`, once per batch) skips writing the replies; a 100,000-request
batch takes seconds to count and to stream, and no more memory than its stored params.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

from runner.emulator.batches import RESULT_TYPES, Batch
from runner.emulator.caching import CachePlan
from runner.emulator.config import EmulatorConfig
from runner.emulator.errors import ApiError, invalid_request, stable_id
from runner.emulator.faults import arrival_rng
from runner.emulator.reply import (
    Asked,
    Draw,
    Prepared,
    accept,
    asked_key,
    produce,
    sample_counter,
    sample_rng,
)
from runner.emulator.request import Obj


class BatchGate:
    """A batch request's side of `produce`: its arrival fixed at create time; no state."""

    tier = "batch"

    def __init__(self, config: EmulatorConfig, draw: Draw, body: object, sample: int) -> None:
        self._config = config
        self._draw = draw
        self._body = body
        self._sample = sample

    def arrive(self, prepared: Prepared) -> Draw:
        """This request's arrival, numbered when its batch was created."""
        return self._draw

    def admit(self, prepared: Prepared) -> CachePlan:
        """Batch requests neither use the prompt cache nor charge the Messages rate limits."""
        return CachePlan()

    def content(self, prepared: Prepared) -> random.Random:
        """This request's sample of its question."""
        return sample_rng(self._config, self._body, asked_key(self._body), self._sample)


def results(config: EmulatorConfig, batch: Batch) -> Iterator[Obj]:
    """Every result line of an ended batch, in request order."""
    samples: dict[str, int] = {}
    for index, custom_id in enumerate(batch.requests.custom_ids):
        outcome = _outcome(config, batch, index, samples)
        yield {"custom_id": custom_id, "result": outcome}


def tally(config: EmulatorConfig, batch: Batch) -> dict[str, int]:
    """How many requests ended each way; the same outcomes as `results`, no reply written."""
    counts = dict.fromkeys(RESULT_TYPES, 0)
    for index in range(len(batch.requests)):
        counts[str(_outcome(config, batch, index, None)["type"])] += 1
    return counts


def _outcome(
    config: EmulatorConfig, batch: Batch, index: int, samples: dict[str, int] | None
) -> Obj:
    """One request's result; with `samples` None only its type (the reply is not written)."""
    if index >= batch.processed:
        return {"type": "canceled"}
    key, arrival = batch.key(index), batch.arrivals[index]
    if arrival_rng(config.seed, "expire\0" + key, arrival).random() < config.batch_expire_share:
        return {"type": "expired"}
    body: object = json.loads(batch.requests.params[index])
    asked = Asked(body, batch.version, batch.betas)
    draw = Draw(arrival_rng(config.seed, key, arrival), arrival)
    ids = f"{batch.id}\0{batch.requests.custom_ids[index]}"
    try:
        if isinstance(body, dict) and body.get("stream") is True:
            raise invalid_request("stream: streaming is not supported in Message Batches")
        if samples is None:
            accept(config, asked, BatchGate(config, draw, body, 0))
            return {"type": "succeeded"}
        gate = BatchGate(config, draw, body, _next_sample(samples, body, batch.betas))
        reply = produce(config, asked, gate)
    except ApiError as err:
        return {"type": "errored", "error": err.body(stable_id("req_", ids))}
    return {"type": "succeeded", "message": reply.message(stable_id("msg_", ids))}


def _next_sample(samples: dict[str, int], body: object, betas: tuple[str, ...]) -> int:
    counter = sample_counter(asked_key(body), betas)
    sample = samples.get(counter, 0)
    samples[counter] = sample + 1
    return sample
