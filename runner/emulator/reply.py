"""One Messages request answered: body checks, faults and the generated reply, for both paths.

`POST /v1/messages` and every request of a Message Batch go through `produce`: the body is
validated under the version and betas it came with, the model limits are checked, a fault may
be drawn and the reply is composed, or an `ApiError` is raised. What differs between the paths,
the stateful steps around generation, comes in through a `Gate`: the live path checks the burst
window, counts arrivals, reads and writes the prompt cache and charges the rate limits; a batch
request draws from its own fixed key and touches none of that state. `accept` is the first
half of `produce`, everything but writing the reply; batches count outcomes with it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Protocol

from runner.emulator.caching import CachePlan
from runner.emulator.compaction import (
    Compaction,
    after_compaction,
    compact_edit,
    compaction_for,
    message_iteration,
)
from runner.emulator.config import EmulatorConfig
from runner.emulator.context_edits import apply_edits
from runner.emulator.effects import Features, check_betas, check_limits, resolve
from runner.emulator.errors import not_found, overloaded, rate_limited, server_error
from runner.emulator.faults import Fault, choose_fault, content_rng, find_directive
from runner.emulator.generation import compose
from runner.emulator.parts import Completion
from runner.emulator.render import Accounting, message_json, usage
from runner.emulator.request import MessageRequest, Obj, parse_request
from runner.emulator.tokens import Segment, canonical, input_tokens, segments

# Fields that shape how a reply is delivered or limited, not what it says.
DELIVERY_FIELDS = frozenset(
    {"stream", "max_tokens", "stop_sequences", "metadata", "speed", "service_tier", "cache_control"}
    | {"temperature", "top_p", "top_k", "context_management"}
)


@dataclass(frozen=True)
class Asked:
    """A Messages request as sent: the body, the API version and the betas it came with."""

    body: object
    version: str
    betas: tuple[str, ...]


@dataclass(frozen=True)
class Prepared:
    """A request past every check that does not depend on server state."""

    request: MessageRequest
    betas: tuple[str, ...]
    features: Features
    input_tokens: int
    original_tokens: int
    applied_edits: list[Obj]
    cache_segments: list[Segment]  # the prompt after context edits: the prefix the cache sees
    compaction: Compaction | None = None


@dataclass(frozen=True)
class Draw:
    """The random source of one arrival, and how many arrivals of the request came before."""

    rng: random.Random
    arrival: int


class Gate(Protocol):
    """The stateful steps around generation, and the service tier the usage reports."""

    @property
    def tier(self) -> str:
        """`usage.service_tier` of the reply."""
        ...

    def arrive(self, prepared: Prepared) -> Draw:
        """Count the arrival (or refuse it) and give its random source."""
        ...

    def admit(self, prepared: Prepared) -> CachePlan:
        """Charge the request (or refuse it); what it reads from and writes to the cache."""
        ...

    def content(self, prepared: Prepared) -> random.Random:
        """The random source of the reply's content."""
        ...


@dataclass(frozen=True)
class Reply:
    """A generated reply: the request, its content, its cache accounting and any fault drawn."""

    prepared: Prepared
    completion: Completion
    cache: CachePlan
    fault: Fault
    tier: str

    def usage(self) -> Obj:
        """The reply's final usage (with a compaction: its `iterations`, see `compaction`)."""
        compaction = self.prepared.compaction
        if compaction is not None:
            return self._compacted_usage(compaction)
        plain = max(0, self.prepared.input_tokens - self.cache.read - self.cache.created)
        account = Accounting(plain, self.cache, self.tier)
        return usage(self.prepared.request, self.completion, account)

    def _compacted_usage(self, compaction: Compaction) -> Obj:
        """The answer's usage at the top (none when paused); the cache was the compaction's."""
        answered = self.completion.output_tokens - compaction.summary_tokens
        top = 0 if compaction.pause else compaction.answer_input
        account = Accounting(top, CachePlan(), self.tier)
        out = usage(self.prepared.request, self.completion, account)
        out["output_tokens"] = answered
        answer = [] if compaction.pause else [message_iteration(top, answered)]
        out["iterations"] = [compaction.iteration(self.cache.read, self.cache.created), *answer]
        return out

    def extra(self) -> Obj:
        """Fields beyond the GA Message: context management's applied edits."""
        if not self.prepared.features.context_edits:
            return {}
        return {"context_management": {"applied_edits": self.prepared.applied_edits}}

    def message(self, msg_id: str) -> Obj:
        """The whole Message object."""
        request = self.prepared.request
        return message_json(msg_id, request, self.completion, self.usage(), self.extra())


def check_in_service(request: MessageRequest, today: date) -> None:
    """404 not_found_error, as the API answers, for a model past its end-of-life date."""
    if request.model.retired(today):
        raise not_found(f"model: {request.model_name}")


def prepare_body(config: EmulatorConfig, asked: Asked, *, count_only: bool) -> Prepared:
    """Validate the body under its version and betas; ApiError on the first check that fails."""
    request = parse_request(asked.body, asked.version, count_only=count_only)
    check_in_service(request, config.today or datetime.now(UTC).date())
    check_betas(request, asked.betas)
    features = resolve(request, asked.betas, config.beta_effects, config.p_correct)
    seen = after_compaction(request)
    segs = segments(seen)
    original = input_tokens(seen, segs)
    edits = apply_edits(seen, features.context_edits, original)
    segs = segs if edits.request is seen else segments(edits.request)
    prompt = original - edits.cleared_tokens
    edit = None if count_only else compact_edit(request, asked.betas)  # compacting samples
    compaction = compaction_for(edit, edits.request, prompt)
    if compaction is not None:  # the cache serves the compaction, which reads the whole prompt
        compacted = compaction.compacted(edits.request)
        answer_input = input_tokens(compacted, segments(compacted))
        compaction = replace(compaction, answer_input=answer_input)
    return Prepared(
        request, asked.betas, features, prompt, original, edits.applied, segs, compaction
    )


@dataclass(frozen=True)
class Accepted:
    """A request that will be answered: past every check, its fault drawn, its cache planned."""

    prepared: Prepared
    fault: Fault
    cache: CachePlan


def accept(config: EmulatorConfig, asked: Asked, gate: Gate) -> Accepted:
    """Everything `produce` does before writing the reply; the ApiError the request earns."""
    prepared = prepare_body(config, asked, count_only=False)
    request = prepared.request
    check_limits(request, prepared.features, prepared.input_tokens)
    draw = gate.arrive(prepared)
    directive = find_directive(request.last_user_text())
    fault = choose_fault(config, draw.rng, request.stream, directive, draw.arrival)
    raise_fault(fault)
    return Accepted(prepared, fault, gate.admit(prepared))


def produce(config: EmulatorConfig, asked: Asked, gate: Gate) -> Reply:
    """The reply to a Messages request, or the ApiError it earns."""
    accepted = accept(config, asked, gate)
    prepared = accepted.prepared
    rng = gate.content(prepared)
    completion = compose(
        prepared.request,
        prepared.features,
        rng,
        prepared.input_tokens,
        iterations=config.server_tool_iterations,
    )
    if prepared.compaction is not None:
        completion = _with_compaction(completion, prepared.compaction)
    return Reply(prepared, completion, accepted.cache, accepted.fault, gate.tier)


def _with_compaction(completion: Completion, compaction: Compaction) -> Completion:
    """The reply led by the compaction block; alone, stopping `compaction`, when it pauses."""
    if compaction.pause:
        return Completion((compaction.part(),), "compaction", None)
    parts = (compaction.part(), *completion.parts)
    return Completion(parts, completion.stop_reason, completion.stop_sequence)


def raise_fault(fault: Fault) -> None:
    """Raise the error a fault answers with; faults of the connection are left to the sender."""
    if fault is Fault.RATE_LIMITED:
        raise rate_limited("Rate limited, as the prompt's emulator directive asked.", 1)
    if fault is Fault.OVERLOADED:
        raise overloaded()
    if fault is Fault.SERVER_ERROR:
        raise server_error()


def asked_key(body: object) -> str:
    """What the body asks (its delivery fields left out), as canonical JSON."""
    return canonical(_without_delivery(body))


def sample_counter(asked: str, betas: Sequence[str]) -> str:
    """The key that counts samples of one question: the betas and what the body asks
    (`asked_key`)."""
    return canonical([sorted(betas), asked])


def sample_rng(config: EmulatorConfig, body: object, asked: str, sample: int) -> random.Random:
    """The content source of the `sample`-th (0-based) answer to a body (`asked`: its
    `asked_key`).

    Content depends on the seed, what is asked and which sample this is; not on limits,
    streaming, caching or betas, so a no-op beta leaves the text unchanged. Like sampling at a
    temperature, the n-th answer differs from the (n-1)-th. With `temperature = 0`, or
    `vary_samples` off, every answer is the first sample.
    """
    if not config.vary_samples or (isinstance(body, dict) and body.get("temperature") == 0):
        sample = 0
    return content_rng(config.seed, f"{asked}\0{sample}" if sample else asked)


def _without_delivery(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_delivery(v) for k, v in value.items() if k not in DELIVERY_FIELDS}
    if isinstance(value, list):
        return [_without_delivery(v) for v in value]
    return value
