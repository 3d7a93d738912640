"""The two endpoints, `POST /v1/messages` and `POST /v1/messages/count_tokens`.

Checks run in the API's order: body size, auth, version, betas, body, model limits; then, for
Messages, the burst window, faults, prompt cache and rate limits, and finally the reply as JSON
or as a paced SSE stream.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from runner.emulator import headers as hdr
from runner.emulator.caching import CachePlan, PromptCache
from runner.emulator.config import EmulatorConfig
from runner.emulator.effects import Features, apply_edits, check_betas, check_limits, resolve
from runner.emulator.errors import ApiError, new_id, overloaded, rate_limited, server_error
from runner.emulator.faults import Fault, arrival_rng, choose_fault, content_rng, find_directive
from runner.emulator.generation import Completion, compose
from runner.emulator.latency import Pacer, Timing, timing
from runner.emulator.ratelimit import Clock, RateLimiter
from runner.emulator.render import (
    Accounting,
    message_json,
    start_message,
    stream_events,
    usage,
)
from runner.emulator.request import MessageRequest, Obj, parse_request
from runner.emulator.tokens import canonical, input_tokens, segments
from runner.emulator.wire import SSE_TYPE, ConnectionDropped, Send, finish, send_event, send_json
from runner.emulator.wire import start as start_response

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
# Fields that shape how a reply is delivered or limited, not what it says.
DELIVERY_FIELDS = frozenset(
    {"stream", "max_tokens", "stop_sequences", "metadata", "speed", "service_tier", "cache_control"}
    | {"temperature", "top_p", "top_k", "context_management"}
)
ORGANIZATION_ID = "5f0e6a2c-7e57-4000-8000-0000000e4a10"


@dataclass
class State:
    """What lives as long as the app: config, clock, buckets, cache and arrival counts."""

    config: EmulatorConfig
    clock: Clock
    started: float
    limiter: RateLimiter
    cache: PromptCache
    arrivals: dict[str, int] = field(default_factory=dict)
    samples: dict[str, int] = field(default_factory=dict)


@dataclass
class Call:
    """One exchange as the handlers see it; `key` and `rate_class` fill in as checks pass."""

    path: str
    headers: list[tuple[str, str]]
    body: object
    body_error: ApiError | None
    request_id: str
    send: Send
    key: str = ""
    rate_class: str = "unknown"


@dataclass(frozen=True)
class Prepared:
    """A request past every check that does not depend on server state."""

    request: MessageRequest
    betas: tuple[str, ...]
    features: Features
    input_tokens: int
    original_tokens: int
    applied_edits: list[Obj]


def response_headers(state: State, call: Call) -> list[tuple[str, str]]:
    """Headers on every answer; Messages answers add the rate-limit headers."""
    out = [("request-id", call.request_id), ("anthropic-organization-id", ORGANIZATION_ID)]
    if call.path == MESSAGES_PATH:
        out += state.limiter.headers(call.key, call.rate_class, datetime.now(UTC))
    return out


def prepare(state: State, call: Call, *, count_only: bool) -> Prepared:
    """Run the stateless checks; ApiError on the first that fails."""
    if call.body_error is not None and call.body_error.status == 413:
        raise call.body_error
    call.key = hdr.api_key(call.headers, state.config.api_keys)
    version = hdr.version(call.headers)
    betas = hdr.betas(call.headers)
    if state.config.reject_unknown_betas:
        hdr.check_known(betas, (e.beta for e in state.config.beta_effects))
    if call.body_error is not None:
        raise call.body_error
    request = parse_request(call.body, version, count_only=count_only)
    call.rate_class = request.model.rate_class
    check_betas(request, betas)
    features = resolve(request, betas, state.config.beta_effects)
    original = input_tokens(request)
    applied, cleared = apply_edits(request, features, original)
    return Prepared(request, betas, features, original - cleared, original, applied)


async def count_tokens(state: State, call: Call) -> None:
    """Answer `{"input_tokens": N}` (plus the original count when context edits apply)."""
    prepared = prepare(state, call, count_only=True)
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


def _raise_fault(fault: Fault) -> None:
    if fault is Fault.RATE_LIMITED:
        raise rate_limited("Rate limited, as the prompt's emulator directive asked.", 1)
    if fault is Fault.OVERLOADED:
        raise overloaded()
    if fault is Fault.SERVER_ERROR:
        raise server_error()


async def messages(state: State, call: Call) -> None:
    """Answer a Messages request, or raise the ApiError it earns."""
    pacer = Pacer()
    prepared = prepare(state, call, count_only=False)
    request = prepared.request
    check_limits(request, prepared.features, prepared.input_tokens)
    _check_burst(state)
    key = canonical([call.path, sorted(prepared.betas), call.body])
    arrival = state.arrivals.get(key, 0)
    state.arrivals[key] = arrival + 1
    rng = arrival_rng(state.config.seed, key, arrival)
    directive = find_directive(request.last_user_text())
    fault = choose_fault(state.config, rng, request.stream, directive, arrival)
    _raise_fault(fault)
    scope = f"{call.key}\0{request.model.id}"
    plan = state.cache.plan(scope, segments(request), prepared.features.long_cache_ttl)
    charge = prepared.input_tokens - plan.read
    reserved = state.limiter.admit(call.key, call.rate_class, charge, request.max_tokens)
    state.cache.commit(plan)
    completion = compose(
        request,
        prepared.features,
        _content_rng(state, call.body, prepared.betas),
        prepared.input_tokens,
    )
    try:
        reply = Reply(prepared, completion, plan, fault)
        times = _timing(state, prepared, completion, rng)
        await reply.send(state, call, times, pacer)
    finally:
        state.limiter.settle(call.key, call.rate_class, reserved, completion.output_tokens)


def _content_rng(state: State, body: object, betas: Sequence[str]) -> random.Random:
    """Content depends on the seed, what is asked and which sample this is.

    Not on limits, streaming or caching. Like sampling at a temperature, the n-th answer to
    the same question under the same betas differs from the (n-1)-th; arms that ask the same
    question draw the same n-th sample, so a no-op beta leaves the text unchanged. With
    `temperature = 0`, or `vary_samples` off, every answer is the first sample.
    """
    asked = canonical(_without_delivery(body))
    counter = canonical([sorted(betas), asked])
    sample = state.samples.get(counter, 0)
    state.samples[counter] = sample + 1
    if not state.config.vary_samples or (isinstance(body, dict) and body.get("temperature") == 0):
        sample = 0
    return content_rng(state.config.seed, f"{asked}\0{sample}" if sample else asked)


def _without_delivery(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_delivery(v) for k, v in value.items() if k not in DELIVERY_FIELDS}
    if isinstance(value, list):
        return [_without_delivery(v) for v in value]
    return value


def _timing(state: State, prepared: Prepared, completion: Completion, rng: random.Random) -> Timing:
    return timing(
        state.config,
        rng,
        input_tokens=prepared.input_tokens,
        output_tokens=completion.output_tokens,
        speedup=2.5 if prepared.features.fast else 1.0,
        extra_ms=sum(e.latency_ms for e in prepared.features.planted),
    )


@dataclass(frozen=True)
class Reply:
    """A generated reply, ready to go out as JSON or as a stream."""

    prepared: Prepared
    completion: Completion
    cache: CachePlan
    fault: Fault

    def usage(self) -> Obj:
        """The reply's final usage."""
        plain = max(0, self.prepared.input_tokens - self.cache.read - self.cache.created)
        return usage(self.prepared.request, self.completion, Accounting(plain, self.cache))

    def extra(self) -> Obj:
        """Fields beyond the GA Message: context management's applied edits."""
        if not self.prepared.features.context_edits:
            return {}
        return {"context_management": {"applied_edits": self.prepared.applied_edits}}

    async def send(self, state: State, call: Call, times: Timing, pacer: Pacer) -> None:
        """Send the reply at the pace `times` sets."""
        if self.prepared.request.stream:
            await self._stream(state, call, times, pacer)
            return
        msg = message_json(
            new_id("msg_"), self.prepared.request, self.completion, self.usage(), self.extra()
        )
        headers = response_headers(state, call)
        if self.fault is Fault.DROP_STREAM:
            await pacer.until(times.first_token_s)
            await start_response(call.send, 200, [("content-type", "application/json"), *headers])
            raise ConnectionDropped
        await pacer.until(times.at(self.completion.output_tokens))
        await send_json(call.send, 200, msg, headers)

    async def _stream(self, state: State, call: Call, times: Timing, pacer: Pacer) -> None:
        final = self.usage()
        start = start_message(new_id("msg_"), self.prepared.request, final)
        estimate = self.prepared.features.estimated_thinking
        every = state.config.ping_every_n_events
        events = stream_events(
            start, self.completion, final, self.extra(), estimate=estimate, ping_every=every
        )
        deltas = [i for i, e in enumerate(events) if e.name == "content_block_delta"]
        cut = (
            deltas[len(deltas) // 2] if self.fault in (Fault.DROP_STREAM, Fault.ERROR_EVENT) else -1
        )
        headers = [("content-type", SSE_TYPE), ("cache-control", "no-cache")]
        await start_response(call.send, 200, headers + response_headers(state, call))
        for index, event in enumerate(events):
            if event.at is not None:
                await pacer.until(times.at(event.at))
            if index == cut:
                await self._break(call)
                break
            await send_event(call.send, event.name, event.data)
        await finish(call.send)

    async def _break(self, call: Call) -> None:
        if self.fault is Fault.DROP_STREAM:
            raise ConnectionDropped
        error = {"type": "overloaded_error", "message": "Overloaded"}
        await send_event(
            call.send, "error", {"type": "error", "error": error, "request_id": call.request_id}
        )
