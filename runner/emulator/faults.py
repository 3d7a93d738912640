"""Fault injection: seeded draws per request, and the `[[emulator:FAULT]]` prompt directive.

Randomness for a request comes from hash(seed, request key, n) where the key is the path, the
sorted betas and the canonical body, and n counts how often that key has arrived. Outcomes do
not depend on the order concurrent requests are served in, and a retry of the same body draws
anew.

Directive: when the last user message's text contains `[[emulator:FAULT]]` or
`[[emulator:FAULTxN]]`, the first N (default 1) arrivals of that exact request get FAULT and
later ones succeed. FAULT is one of:

| FAULT | what the client sees |
| --- | --- |
| `overloaded` | 529 overloaded_error |
| `server_error` | 500 api_error |
| `rate_limited` | 429 rate_limit_error with `retry-after: 1` |
| `drop_stream` | the connection closes mid-stream (or before the body, when not streaming) |
| `error_event` | a 200 stream with an `event: error` overloaded_error after some deltas |
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from enum import Enum

from runner.emulator.config import EmulatorConfig


class Fault(Enum):
    """What goes wrong with one request, if anything."""

    NONE = "none"
    OVERLOADED = "overloaded"
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    DROP_STREAM = "drop_stream"
    ERROR_EVENT = "error_event"


_DIRECTIVE = re.compile(
    r"\[\[emulator:(overloaded|server_error|rate_limited|drop_stream|error_event)(?:x(\d+))?\]\]"
)


@dataclass(frozen=True)
class Directive:
    """A fault asked for in the prompt, for the first `times` arrivals."""

    fault: Fault
    times: int


def find_directive(text: str) -> Directive | None:
    """The directive in a message text, if any (the last one wins)."""
    found = _DIRECTIVE.findall(text)
    if not found:
        return None
    name, times = found[-1]
    return Directive(Fault(name), int(times) if times else 1)


def arrival_rng(seed: int, key: str, arrival: int) -> random.Random:
    """The random source of the `arrival`-th (0-based) arrival of a request key."""
    digest = hashlib.sha256(f"{seed}\0{arrival}\0{key}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def content_rng(seed: int, key: str) -> random.Random:
    """The random source for a request's content: the same for every arrival."""
    digest = hashlib.sha256(f"{seed}\0content\0{key}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def choose_fault(
    config: EmulatorConfig,
    rng: random.Random,
    stream: bool,
    directive: Directive | None,
    arrival: int,
) -> Fault:
    """The fault for this arrival: the directive's while it lasts, else seeded draws."""
    draws = [rng.random() for _ in range(4)]
    if directive is not None:
        return directive.fault if arrival < directive.times else Fault.NONE
    chances = [
        (Fault.OVERLOADED, config.p_overloaded),
        (Fault.SERVER_ERROR, config.p_server_error),
        (Fault.DROP_STREAM, config.p_drop_stream),
        (Fault.ERROR_EVENT, config.p_error_event if stream else 0.0),
    ]
    return next((fault for (fault, p), u in zip(chances, draws, strict=True) if u < p), Fault.NONE)
