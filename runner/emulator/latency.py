"""The latency model: when the first token and each later one are due, and a pacer to wait.

Normal mode: time to first token = (`ttft_ms` + `ms_per_1k_input_tokens` x input/1000) x
(1 + jitter x u), u uniform in [-1, 1] from the seed; each output token then takes
`ms_per_output_token` (2.5x less in fast mode), with its own jitter draw. Fixed mode
(`fixed_latency_ms` = F): the first token is due at min(`ttft_ms`, F) and the last at exactly
F, with no jitter. Planted `latency_ms` is added to the time to first token in both modes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import anyio

from runner.emulator.config import EmulatorConfig


@dataclass(frozen=True)
class Timing:
    """Seconds to the first token and per output token after it."""

    first_token_s: float
    per_token_s: float

    def at(self, tokens: float) -> float:
        """Seconds from arrival until `tokens` output tokens after the first are out."""
        return self.first_token_s + tokens * self.per_token_s


def timing(
    config: EmulatorConfig,
    rng: random.Random,
    *,
    input_tokens: int,
    output_tokens: int,
    speedup: float,
    extra_ms: float,
) -> Timing:
    """The timing of one reply."""
    if config.fixed_latency_ms is not None:
        total = config.fixed_latency_ms
        first = min(config.ttft_ms, total)
        per_token = (total - first) / output_tokens if output_tokens else 0.0
        return Timing((first + extra_ms) / 1000, per_token / 1000)
    base = config.ttft_ms + config.ms_per_1k_input_tokens * input_tokens / 1000
    first = base * (1 + config.jitter * rng.uniform(-1.0, 1.0))
    per_token = config.ms_per_output_token / speedup * (1 + config.jitter * rng.uniform(-1.0, 1.0))
    return Timing(max(0.0, first + extra_ms) / 1000, max(0.0, per_token) / 1000)


class Pacer:
    """Waits until offsets measured from one start, so small sleeps do not add up to drift."""

    def __init__(self) -> None:
        self._start = anyio.current_time()

    async def until(self, offset_s: float) -> None:
        """Sleep until `offset_s` seconds after the start (at once if that has passed)."""
        delay = self._start + offset_s - anyio.current_time()
        if delay > 0:
            await anyio.sleep(delay)
