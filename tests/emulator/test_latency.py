"""Latency over real loopback: fixed total latency, time to first token, planted delays."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from runner.emulator import EmulatorConfig, EmulatorServer, parse_beta_effect
from tests.emulator.support import HEADERS, body


def timed_stream(
    client: httpx.Client, payload: dict[str, object], beta: str = ""
) -> tuple[float, float]:
    """(seconds to the first content delta, seconds to the end) of one streamed request."""
    headers = {**HEADERS, **({"anthropic-beta": beta} if beta else {})}
    start = time.monotonic()
    first = 0.0
    with client.stream("POST", "/v1/messages", json=payload, headers=headers) as response:
        for line in response.iter_lines():
            if not first and "content_block_delta" in line:
                first = time.monotonic() - start
    return first, time.monotonic() - start


@contextmanager
def warmed_client(url: str) -> Iterator[httpx.Client]:
    """A client that has made one throwaway request, so set-up costs stay out of timings."""
    with httpx.Client(base_url=url, timeout=10.0) as client:
        client.get("/warm-up")
        yield client


def test_fixed_latency_controls_ttft_and_total() -> None:
    """With fixed_latency_ms the first token comes at ttft_ms and the stream ends at the total."""
    config = EmulatorConfig(fixed_latency_ms=300.0, ttft_ms=100.0)
    with EmulatorServer(config) as server, warmed_client(server.url) as client:
        first, total = timed_stream(client, body(stream=True))
        start = time.monotonic()
        client.post("/v1/messages", json=body(), headers=HEADERS)
        whole = time.monotonic() - start
    assert 0.1 <= first < 0.3
    assert 0.3 <= total < 0.6
    assert 0.3 <= whole < 0.6


def test_planted_latency_delays_the_first_token() -> None:
    """A planted latency_ms adds to the time to first token only when its beta is sent."""
    effect = parse_beta_effect("slow-beta:latency_ms=150")
    config = EmulatorConfig(fixed_latency_ms=50.0, ttft_ms=20.0, beta_effects=(effect,))
    with EmulatorServer(config) as server, warmed_client(server.url) as client:
        plain, _ = timed_stream(client, body(stream=True))
        slowed, _ = timed_stream(client, body(stream=True), beta="slow-beta")
    assert slowed >= 0.17
    assert slowed - plain >= 0.12


def test_fast_mode_streams_output_faster() -> None:
    """fast-mode with speed fast spends 2.5x less time per output token."""
    config = EmulatorConfig(
        ttft_ms=0.0, ms_per_output_token=4.0, ms_per_1k_input_tokens=0.0, jitter=0.0
    )
    payload = body(model="claude-opus-4-6", stream=True, max_tokens=60)
    fast_payload = {**payload, "speed": "fast"}
    with EmulatorServer(config) as server, warmed_client(server.url) as client:
        _, normal = timed_stream(
            client, {**payload, "messages": [{"role": "user", "content": "x " * 4000}]}
        )
        _, fast = timed_stream(
            client,
            {**fast_payload, "messages": [{"role": "user", "content": "x " * 4000}]},
            "fast-mode-2026-02-01",
        )
    assert normal >= 0.2
    assert fast < normal * 0.6
