"""Latency over real loopback: fixed total latency, time to first token, planted delays."""

from __future__ import annotations

import time

import httpx

from runner.emulator import EmulatorConfig, EmulatorServer, parse_beta_effect
from tests.emulator.support import HEADERS, body


def timed_stream(url: str, payload: dict[str, object], beta: str = "") -> tuple[float, float]:
    """(seconds to the first content delta, seconds to the end) of one streamed request."""
    headers = {**HEADERS, **({"anthropic-beta": beta} if beta else {})}
    start = time.monotonic()
    first = 0.0
    with httpx.stream("POST", f"{url}/v1/messages", json=payload, headers=headers) as response:
        for line in response.iter_lines():
            if not first and "content_block_delta" in line:
                first = time.monotonic() - start
    return first, time.monotonic() - start


def test_fixed_latency_controls_ttft_and_total() -> None:
    """With fixed_latency_ms the first token comes at ttft_ms and the stream ends at the total."""
    config = EmulatorConfig(fixed_latency_ms=300.0, ttft_ms=100.0)
    with EmulatorServer(config) as server:
        first, total = timed_stream(server.url, body(stream=True))
        start = time.monotonic()
        httpx.post(f"{server.url}/v1/messages", json=body(), headers=HEADERS)
        whole = time.monotonic() - start
    assert 0.09 <= first <= 0.2
    assert 0.29 <= total <= 0.42
    assert 0.29 <= whole <= 0.42


def test_planted_latency_delays_the_first_token() -> None:
    """A planted latency_ms adds to the time to first token only when its beta is sent."""
    effect = parse_beta_effect("slow-beta:latency_ms=150")
    config = EmulatorConfig(fixed_latency_ms=50.0, ttft_ms=20.0, beta_effects=(effect,))
    with EmulatorServer(config) as server:
        plain, _ = timed_stream(server.url, body(stream=True))
        slowed, _ = timed_stream(server.url, body(stream=True), beta="slow-beta")
    assert plain < 0.1
    assert 0.16 <= slowed <= 0.3


def test_fast_mode_streams_output_faster() -> None:
    """fast-mode with speed fast spends 2.5x less time per output token."""
    config = EmulatorConfig(
        ttft_ms=0.0, ms_per_output_token=4.0, ms_per_1k_input_tokens=0.0, jitter=0.0
    )
    payload = body(model="claude-opus-4-6", stream=True, max_tokens=60)
    fast_payload = {**payload, "speed": "fast"}
    with EmulatorServer(config) as server:
        _, normal = timed_stream(
            server.url, {**payload, "messages": [{"role": "user", "content": "x " * 4000}]}
        )
        _, fast = timed_stream(
            server.url,
            {**fast_payload, "messages": [{"role": "user", "content": "x " * 4000}]},
            "fast-mode-2026-02-01",
        )
    assert normal >= 0.2
    assert fast < normal * 0.6
