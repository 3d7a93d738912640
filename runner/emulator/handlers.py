"""The two Messages endpoints, `POST /v1/messages` and `POST /v1/messages/count_tokens`.

Checks run in the API's order: body size, auth, version, betas, body, model limits; then, for
Messages, the burst window, faults, prompt cache and rate limits (`LiveGate`, the live path's
side of `reply.produce`), and finally the reply as JSON or as a paced SSE stream.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from runner.emulator import headers as hdr
from runner.emulator.batches import BatchStore
from runner.emulator.caching import CachePlan, PromptCache
from runner.emulator.catalog import find_model
from runner.emulator.config import EmulatorConfig
from runner.emulator.counters import SeenCounter
from runner.emulator.effects import FAST_SPEEDUP
from runner.emulator.errors import ApiError, new_id, rate_limited
from runner.emulator.faults import Fault, arrival_rng
from runner.emulator.latency import LOOP_TIMER, Pacer, Timer, Timing, timing
from runner.emulator.lateness import Lateness, LatenessLog, LoopLag
from runner.emulator.ratelimit import Clock, RateLimiter
from runner.emulator.render import Event, start_message, stream_events
from runner.emulator.reply import (
    Asked,
    Draw,
    Prepared,
    Reply,
    asked_key,
    prepare_body,
    produce,
    sample_counter,
    sample_rng,
)
from runner.emulator.request import Obj
from runner.emulator.tokens import canonical
from runner.emulator.wire import (
    SSE_TYPE,
    ConnectionDropped,
    Send,
    event,
    finish,
    send_chunk,
    send_json,
)
from runner.emulator.wire import start as start_response

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
ORGANIZATION_ID = "5f0e6a2c-7e57-4000-8000-0000000e4a10"


@dataclass
class State:
    """What lives as long as the app: config, clock, buckets, cache, batches, arrival counts."""

    config: EmulatorConfig
    clock: Clock
    started: float
    limiter: RateLimiter
    cache: PromptCache
    batches: BatchStore
    arrivals: SeenCounter = field(default_factory=SeenCounter)
    samples: SeenCounter = field(default_factory=SeenCounter)
    # The emulator's own lateness (`lateness`): the pacer's timer, the loop's lag, the log.
    timer: Timer = LOOP_TIMER
    loop_lag: LoopLag = field(default_factory=LoopLag)
    lateness: LatenessLog = field(default_factory=LatenessLog)
    http_parser: str = "unknown"


@dataclass
class Call:
    """One exchange as the handlers see it; `key` and `rate_class` fill in as checks pass."""

    path: str
    headers: list[tuple[str, str]]
    body: object
    body_error: ApiError | None
    request_id: str
    send: Send
    method: str = "POST"
    query: str = ""
    origin: str = "http://localhost"
    key: str = ""
    rate_class: str = "unknown"
    # When the server first parsed the request, on the pacer's clock (None: not stamped).
    arrived: float | None = None


Handler = Callable[[State, Call], Awaitable[None]]


def response_headers(state: State, call: Call) -> list[tuple[str, str]]:
    """Headers on every answer; Messages answers add the rate-limit headers."""
    out = [("request-id", call.request_id), ("anthropic-organization-id", ORGANIZATION_ID)]
    if call.path == MESSAGES_PATH:
        out += state.limiter.headers(call.key, call.rate_class, datetime.now(UTC))
    return out


def check_headers(state: State, call: Call) -> tuple[str, tuple[str, ...]]:
    """Size, auth, version and beta names, in the API's order: the version and the betas."""
    if call.body_error is not None and call.body_error.status == 413:
        raise call.body_error
    call.key = hdr.api_key(call.headers, state.config.api_keys)
    version = hdr.version(call.headers)
    betas = hdr.betas(call.headers)
    if state.config.reject_unknown_betas:
        hdr.check_known(betas, (e.beta for e in state.config.beta_effects))
    return version, betas


def asked(state: State, call: Call) -> Asked:
    """The headers checked and the body read: the request as `reply` takes it."""
    version, betas = check_headers(state, call)
    if call.body_error is not None:
        raise call.body_error
    return Asked(call.body, version, betas)


async def count_tokens(state: State, call: Call) -> None:
    """Answer `{"input_tokens": N}` (plus the original count when context edits apply)."""
    prepared = prepare_body(state.config, asked(state, call), count_only=True)
    body: Obj = {"input_tokens": prepared.input_tokens}
    if prepared.features.context_edits:
        body["context_management"] = {"original_input_tokens": prepared.original_tokens}
    await send_json(call.send, 200, body, response_headers(state, call))


def _check_burst(state: State) -> None:
    if state.config.rate_limit_burst is None:
        return
    begin, length = state.config.rate_limit_burst
    uptime = state.clock() - state.started
    if begin <= uptime < begin + length:
        wait = math.ceil(begin + length - uptime)
        raise rate_limited("Rate limited: the emulator's configured burst window is active.", wait)


class LiveGate:
    """The live path's state: burst window, arrival counts, prompt cache and rate limits."""

    tier = "standard"

    def __init__(self, state: State, call: Call) -> None:
        self.state = state
        self.call = call
        self.draw = Draw(random.Random(0), 0)
        self.reserved = 0

    def arrive(self, prepared: Prepared) -> Draw:
        """Refuse during the burst window; count this arrival of the exact request."""
        _check_burst(self.state)
        key = canonical([self.call.path, sorted(prepared.betas), self.call.body])
        arrival = self.state.arrivals.seen(key)
        self.draw = Draw(arrival_rng(self.state.config.seed, key, arrival), arrival)
        return self.draw

    def admit(self, prepared: Prepared) -> CachePlan:
        """Plan the cache, charge the rate limits (429 when short), then store the cache plan."""
        state, call, request = self.state, self.call, prepared.request
        scope = f"{call.key}\0{request.model.id}"
        plan = state.cache.plan(scope, prepared.cache_segments, prepared.features.long_cache_ttl)
        charge = prepared.input_tokens - plan.read
        self.reserved = state.limiter.admit(call.key, call.rate_class, charge, request.max_tokens)
        state.cache.commit(plan)
        return plan

    def content(self, prepared: Prepared) -> random.Random:
        """The next sample of this question under these betas."""
        question = asked_key(self.call.body)  # serialised once for the counter and the rng
        sample = self.state.samples.seen(sample_counter(question, prepared.betas))
        return sample_rng(self.state.config, self.call.body, question, sample)


async def messages(state: State, call: Call) -> None:
    """Answer a Messages request, or raise the ApiError it earns; log how late it went out."""
    pacer, wait = Pacer(state.timer, call.arrived), state.loop_lag.now_ms()
    try:
        await _answer(state, call, pacer)
    finally:
        if pacer.late_ms is not None:
            lateness = Lateness(pacer.started_at, pacer.took_ms, pacer.late_ms, wait)
            state.lateness.record(call.request_id, lateness)


async def _answer(state: State, call: Call, pacer: Pacer) -> None:
    request = asked(state, call)
    call.rate_class = _rate_class(call.body)
    gate = LiveGate(state, call)
    reply = produce(state.config, request, gate)
    try:
        times = _timing(state, reply, gate.draw.rng)
        await _send(reply, state, call, times, pacer)
    finally:
        produced = reply.completion.output_tokens
        state.limiter.settle(call.key, call.rate_class, gate.reserved, produced)


def _rate_class(body: object) -> str:
    """The rate-limit class of the body's model, so even a refused request reports its limits."""
    name = body.get("model") if isinstance(body, dict) else None
    model = find_model(name) if isinstance(name, str) else None
    return model.rate_class if model is not None else "unknown"


def _timing(state: State, reply: Reply, rng: random.Random) -> Timing:
    features = reply.prepared.features
    return timing(
        state.config,
        rng,
        input_tokens=reply.prepared.input_tokens,
        output_tokens=reply.completion.output_tokens,
        speedup=FAST_SPEEDUP if features.fast else 1.0,
        extra_ms=sum(e.latency_ms for e in features.planted),
    )


async def _send(reply: Reply, state: State, call: Call, times: Timing, pacer: Pacer) -> None:
    """Send the reply at the pace `times` sets, as JSON or as a stream."""
    if reply.prepared.request.stream:
        await _stream(reply, state, call, times, pacer)
        return
    msg = reply.message(new_id("msg_"))
    headers = response_headers(state, call)
    if reply.fault is Fault.DROP_STREAM:
        await pacer.until(times.first_token_s)
        await start_response(call.send, 200, [("content-type", "application/json"), *headers])
        raise ConnectionDropped
    await pacer.until(times.at(reply.completion.output_tokens))
    await send_json(call.send, 200, msg, headers)
    pacer.wrote()


async def _stream(reply: Reply, state: State, call: Call, times: Timing, pacer: Pacer) -> None:
    final = reply.usage()
    start = start_message(new_id("msg_"), reply.prepared.request, final)
    estimate = reply.prepared.features.estimated_thinking
    every = state.config.ping_every_n_events
    events = stream_events(
        start, reply.completion, final, reply.extra(), estimate=estimate, ping_every=every
    )
    deltas = [i for i, e in enumerate(events) if e.name == "content_block_delta"]
    cut = deltas[len(deltas) // 2] if reply.fault in (Fault.DROP_STREAM, Fault.ERROR_EVENT) else -1
    headers = [("content-type", SSE_TYPE), ("cache-control", "no-cache")]
    await start_response(call.send, 200, headers + response_headers(state, call))
    pending = await _paced(events, cut, times, pacer, call.send)
    if cut >= 0:
        pending = await _break(reply.fault, call, pending)
    await finish(call.send, b"".join(pending))
    pacer.wrote()


async def _paced(
    events: list[Event], cut: int, times: Timing, pacer: Pacer, send: Send
) -> list[bytes]:
    """Write `events` (up to index `cut`, if >= 0) at their due times, those due together in
    one write; returns the encoded events still to write."""
    pending: list[bytes] = []
    for index, item in enumerate(events):
        offset = None if item.at is None else times.at(item.at)
        if offset is not None and pending and not pacer.is_due(offset):
            await send_chunk(send, b"".join(pending))
            pacer.wrote()
            pending = []
        if offset is not None:
            await pacer.until(offset)
        if index == cut:
            break
        pending.append(event(item.name, item.data))
    return pending


async def _break(fault: Fault, call: Call, pending: list[bytes]) -> list[bytes]:
    """Cut the stream where the fault strikes: drop the connection after what is due, or
    add an `error` event to it."""
    if fault is Fault.DROP_STREAM:
        if pending:
            await send_chunk(call.send, b"".join(pending))
        raise ConnectionDropped
    error = {"type": "overloaded_error", "message": "Overloaded"}
    data = {"type": "error", "error": error, "request_id": call.request_id}
    return [*pending, event("error", data)]
