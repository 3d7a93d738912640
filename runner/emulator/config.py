"""The emulator's settings: one frozen object, every field with a default.

Rates are per minute and 0 means unlimited. Times are milliseconds, or seconds where the name
ends in `_s`. Probabilities are per request and drawn from the seed, so a run with the same
seed sees the same faults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from runner.emulator.planted import BetaEffect


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulator behaves: seed, auth, rate limits, latency, faults and planted effects."""

    seed: int = 0
    # The day model retirements are judged on (a model past its end of life answers 404);
    # None: today's UTC date.
    today: date | None = None
    # Repeats of one question get different answers, as sampling at a temperature would;
    # off, every answer to the same question is the same.
    vary_samples: bool = True
    # Keep every request in `EmulatorApp.received` (tests read it); off for long local runs,
    # whose memory would otherwise grow with every request.
    record_requests: bool = True
    reject_unknown_betas: bool = True
    api_keys: tuple[str, ...] = ()
    # Rate limits (per API key and model class), 0 = unlimited.
    rpm: int = 4000
    itpm: int = 2_000_000
    otpm: int = 400_000
    otpm_mode: Literal["realtime", "max_tokens"] = "realtime"
    # Latency model.
    ttft_ms: float = 120.0
    ms_per_output_token: float = 4.0
    ms_per_1k_input_tokens: float = 2.0
    jitter: float = 0.1
    fixed_latency_ms: float | None = None
    # Faults, drawn per request from the seed.
    p_overloaded: float = 0.0
    p_server_error: float = 0.0
    p_drop_stream: float = 0.0
    p_error_event: float = 0.0
    rate_limit_burst: tuple[float, float] | None = None
    # Message Batches: seconds from creation until a batch has ended, and the seeded share of
    # its requests that end `expired`.
    batch_processing_s: float = 2.0
    batch_expire_share: float = 0.0
    # The chance that a question with a known answer (see `answers`) is answered right.
    p_correct: float = 0.8
    # Server tool calls (web searches) one response runs before it pauses with `pause_turn`;
    # the API's server-side loop stops at 10 iterations.
    server_tool_iterations: int = 10
    # Planted effects, and a ping every n stream events (0: only the one after the first block).
    beta_effects: tuple[BetaEffect, ...] = ()
    ping_every_n_events: int = 0
