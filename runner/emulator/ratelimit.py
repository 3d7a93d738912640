"""Rate limits: token buckets per (API key, model class) for requests, input and output tokens.

Each bucket holds up to its per-minute limit, starts full and refills continuously at
limit/60 per second, as the API documents. A request is admitted only if every bucket can
cover it; otherwise nothing is charged and a 429 names the first limit short, with
`retry-after` the whole seconds until all could. Input tokens are charged on arrival. Output
tokens are charged as produced ("realtime", the 2026 rule: admission needs a positive balance)
or as `max_tokens` up front with the unused part refunded ("max_tokens", the 2025 rule).
A request larger than a whole bucket is admitted once that bucket is full.
A limit of 0 is unlimited and is reported as `UNLIMITED`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from runner.emulator.errors import rate_limited

UNLIMITED = 1_000_000_000


class Clock(Protocol):
    """A monotonic clock in seconds."""

    def __call__(self) -> float: ...


class TokenBucket:
    """One continuously refilled bucket; its level may go negative after a realtime charge."""

    def __init__(self, limit: int, clock: Clock) -> None:
        self.limit = limit
        self._clock = clock
        self._level = float(limit)
        self._at = clock()

    @property
    def unlimited(self) -> bool:
        """Whether this bucket never runs out."""
        return self.limit <= 0

    def level(self) -> float:
        """The current content, after refilling for the time passed."""
        now = self._clock()
        self._level = min(float(self.limit), self._level + (now - self._at) * self.limit / 60.0)
        self._at = now
        return self._level

    def wait_for(self, amount: float) -> float:
        """Seconds until the bucket holds `amount` (capped at its capacity); 0 if it does now."""
        if self.unlimited:
            return 0.0
        missing = min(amount, float(self.limit)) - self.level()
        return max(0.0, missing * 60.0 / self.limit)

    def take(self, amount: float) -> None:
        """Remove `amount`, even below zero."""
        if not self.unlimited:
            self._level = self.level() - amount

    def give(self, amount: float) -> None:
        """Return `amount`, up to the capacity."""
        if not self.unlimited:
            self._level = min(float(self.limit), self.level() + amount)

    def seconds_to_full(self) -> float:
        """Seconds until the bucket is full again."""
        return self.wait_for(float(self.limit))


@dataclass(frozen=True)
class Buckets:
    """The three buckets of one API key and model class."""

    requests: TokenBucket
    inputs: TokenBucket
    outputs: TokenBucket


@dataclass(frozen=True)
class _Need:
    what: str
    bucket: TokenBucket
    amount: float


class RateLimiter:
    """All buckets of one emulator, created full on first use."""

    def __init__(
        self,
        rpm: int,
        itpm: int,
        otpm: int,
        otpm_mode: Literal["realtime", "max_tokens"],
        clock: Clock,
    ) -> None:
        self._limits = (rpm, itpm, otpm)
        self._mode = otpm_mode
        self._clock = clock
        self._buckets: dict[tuple[str, str], Buckets] = {}

    def reset(self) -> None:
        """Drop every bucket; the next request finds them full."""
        self._buckets.clear()

    def buckets(self, key: str, rate_class: str) -> Buckets:
        """The buckets of a key and model class."""
        found = self._buckets.get((key, rate_class))
        if found is None:
            rpm, itpm, otpm = (TokenBucket(n, self._clock) for n in self._limits)
            found = self._buckets[(key, rate_class)] = Buckets(rpm, itpm, otpm)
        return found

    def admit(self, key: str, rate_class: str, input_tokens: int, max_tokens: int) -> int:
        """Charge a request on arrival; returns the output tokens reserved. 429 if short."""
        b = self.buckets(key, rate_class)
        requests, inputs, outputs = b.requests, b.inputs, b.outputs
        reserve = max_tokens if self._mode == "max_tokens" else 0
        needs = [
            _Need("requests per minute", requests, 1),
            _Need("input tokens per minute", inputs, input_tokens),
            _Need("output tokens per minute", outputs, max(reserve, 1)),
        ]
        waits = [(n, n.bucket.wait_for(n.amount)) for n in needs]
        short = [(n, w) for n, w in waits if w > 0]
        if short:
            raise rate_limited(
                _message(short[0][0], rate_class), math.ceil(max(w for _, w in short))
            )
        requests.take(1)
        inputs.take(input_tokens)
        outputs.take(reserve)
        return reserve

    def settle(self, key: str, rate_class: str, reserved: int, produced: int) -> None:
        """Charge the output tokens produced, against what was reserved on admission."""
        outputs = self.buckets(key, rate_class).outputs
        if produced >= reserved:
            outputs.take(produced - reserved)
        else:
            outputs.give(reserved - produced)

    def headers(self, key: str, rate_class: str, now: datetime) -> list[tuple[str, str]]:
        """The twelve `anthropic-ratelimit-*` headers for a key and model class."""
        b = self.buckets(key, rate_class)
        requests, inputs, outputs = b.requests, b.inputs, b.outputs
        out = _triple("requests", requests, now, exact=True)
        tokens_limit = _limit(inputs) + _limit(outputs)
        tokens_left = _remaining(inputs) + _remaining(outputs)
        wait = max(inputs.seconds_to_full(), outputs.seconds_to_full())
        out += _format("tokens", tokens_limit, _round(tokens_left), now, wait)
        out += _triple("input-tokens", inputs, now, exact=False)
        out += _triple("output-tokens", outputs, now, exact=False)
        return out


def _message(need: _Need, rate_class: str) -> str:
    return (
        f"This request would exceed your organization's rate limit of {need.bucket.limit:,} "
        f"{need.what} (model class: {rate_class}). For details, refer to the rate limits "
        "documentation. You can see the response headers for current usage."
    )


def _limit(bucket: TokenBucket) -> int:
    return UNLIMITED if bucket.unlimited else bucket.limit


def _remaining(bucket: TokenBucket) -> int:
    return UNLIMITED if bucket.unlimited else max(0, math.floor(bucket.level()))


def _round(tokens: int) -> int:
    return math.floor(tokens / 1000 + 0.5) * 1000


def _triple(name: str, bucket: TokenBucket, now: datetime, *, exact: bool) -> list[tuple[str, str]]:
    left = _remaining(bucket)
    return _format(
        name, _limit(bucket), left if exact else _round(left), now, bucket.seconds_to_full()
    )


def _format(name: str, limit: int, left: int, now: datetime, wait: float) -> list[tuple[str, str]]:
    reset = (now + timedelta(seconds=math.ceil(wait))).strftime("%Y-%m-%dT%H:%M:%SZ")
    prefix = f"anthropic-ratelimit-{name}"
    return [
        (f"{prefix}-limit", str(limit)),
        (f"{prefix}-remaining", str(left)),
        (f"{prefix}-reset", reset),
    ]
