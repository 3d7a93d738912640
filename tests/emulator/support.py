"""Constants, body builders and a hand-moved clock shared by the emulator tests."""

from __future__ import annotations

from datetime import date
from typing import Any

import anthropic
from anthropic.types.beta import BetaMessage

from runner.emulator import EmulatorConfig

TODAY = date(2026, 12, 1)  # retirements are judged on a fixed day, not the machine's clock
# One answer per question (vary_samples off), so tests can compare two replies to one body.
FAST = EmulatorConfig(
    today=TODAY,
    ttft_ms=0.0,
    ms_per_output_token=0.0,
    ms_per_1k_input_tokens=0.0,
    jitter=0.0,
    vary_samples=False,
)
MODEL = "claude-sonnet-4-6"
HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}


def body(text: str = "Hello there.", **fields: object) -> dict[str, object]:
    """A minimal valid Messages body with one user message."""
    return {
        "model": MODEL,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": text}],
        **fields,
    }


class ManualClock:
    """A monotonic clock that moves only when a test advances it."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


def beta_reply(
    sdk: anthropic.Anthropic, stream: bool, messages: list[Any], params: Any
) -> BetaMessage:
    """One beta Messages reply from the SDK, streamed (its final message) or not."""
    if stream:
        with sdk.beta.messages.stream(messages=messages, **params) as events:
            return events.get_final_message()
    return sdk.beta.messages.create(messages=messages, **params)
