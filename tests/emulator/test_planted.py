"""Planted beta effects: the CLI syntax and what they change in a reply."""

from __future__ import annotations

import httpx
import pytest

from runner.emulator import BetaEffect, EmulatorConfig, create_app, parse_beta_effect
from tests.emulator.support import HEADERS, body


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("b-1", BetaEffect("b-1")),
        ("b-1:latency_ms=30", BetaEffect("b-1", latency_ms=30.0)),
        (
            "b-1:output_tokens=+20%",
            BetaEffect("b-1", output_tokens=0.2, output_tokens_relative=True),
        ),
        ("b-1:output_tokens=-5", BetaEffect("b-1", output_tokens=-5.0)),
        (
            "b-1:latency_ms=1, text=hello there",
            BetaEffect("b-1", latency_ms=1.0, text_suffix="hello there"),
        ),
    ],
    ids=["name-only", "latency", "relative-tokens", "absolute-tokens", "text"],
)
def test_parse_beta_effect(spec: str, expected: BetaEffect) -> None:
    """NAME:key=value,... parses into a BetaEffect."""
    assert parse_beta_effect(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (":latency_ms=3", "no beta name"),
        ("b:speed=3", "is not KEY=VALUE"),
        ("b:latency_ms", "is not KEY=VALUE"),
        ("b:latency_ms=soon", "is not a number"),
        ("b:latency_ms=-1", "zero or more"),
        ("b:output_tokens=lots", "is not like"),
    ],
    ids=["no-name", "unknown-key", "no-value", "bad-latency", "negative-latency", "bad-tokens"],
)
def test_parse_beta_effect_errors(spec: str, message: str) -> None:
    """Bad specs raise ValueError saying what is wrong."""
    with pytest.raises(ValueError, match=message):
        parse_beta_effect(spec)


@pytest.mark.anyio
async def test_planted_effect_applies_only_with_its_beta() -> None:
    """A planted beta is accepted, doubles the text and appends its words only when sent."""
    effect = parse_beta_effect("my-beta:output_tokens=+100%,text=PLANTED")
    app = create_app(EmulatorConfig(beta_effects=(effect,), ttft_ms=0, ms_per_output_token=0))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://e", headers=HEADERS
    ) as client:
        plain = (await client.post("/v1/messages", json=body())).json()
        planted = (
            await client.post("/v1/messages", json=body(), headers={"anthropic-beta": "my-beta"})
        ).json()
    assert not plain["content"][0]["text"].endswith("PLANTED")
    assert planted["content"][0]["text"].endswith(" PLANTED")
    assert planted["usage"]["output_tokens"] == 2 * plain["usage"]["output_tokens"] + 1
