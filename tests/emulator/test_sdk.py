"""The official anthropic SDK (2.12) works against the emulator unchanged."""

from __future__ import annotations

import anthropic
import httpx2
import pytest
from anthropic.types import TextBlock, ThinkingBlock, ToolUseBlock

from runner.emulator import EmulatorServer
from tests.emulator.support import MODEL

HELLO = [{"role": "user", "content": "Hello there."}]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city"],
    },
}


def test_create_returns_a_message(sdk: anthropic.Anthropic) -> None:
    """messages.create parses into a Message with text, stop reason and usage."""
    message = sdk.messages.create(model=MODEL, max_tokens=200, messages=HELLO)
    assert message.id.startswith("msg_")
    assert isinstance(message.content[0], TextBlock)
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 0
    assert message.usage.service_tier == "standard"


def test_sdk_sends_2026_version_and_bearer_auth(
    sdk: anthropic.Anthropic, emulator: EmulatorServer
) -> None:
    """The 2.12 SDK sends anthropic-version 2026-10-21 and the key as a Bearer token."""
    sdk.messages.create(model=MODEL, max_tokens=50, messages=HELLO)
    received = emulator.app.received[-1]
    assert received.header_values("anthropic-version") == ["2026-10-21"]
    assert received.header_values("authorization") == ["Bearer test-key"]
    assert received.path == "/v1/messages"


def test_stream_collects_text_and_final_usage(sdk: anthropic.Anthropic) -> None:
    """messages.stream yields text deltas whose concatenation is the final text."""
    with sdk.messages.stream(model=MODEL, max_tokens=200, messages=HELLO) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == final.content[0].text  # type: ignore[union-attr]
    assert final.usage.output_tokens == len(final.content[0].text.split(" "))  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"


def test_create_stream_true_matches_non_streamed_text(sdk: anthropic.Anthropic) -> None:
    """create(stream=True) gives the same text as the non-streamed call for the same body."""
    whole = sdk.messages.create(model=MODEL, max_tokens=200, messages=HELLO)
    events = list(sdk.messages.create(model=MODEL, max_tokens=200, messages=HELLO, stream=True))
    text = "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )
    assert text == whole.content[0].text  # type: ignore[union-attr]
    assert next(e.type for e in events) == "message_start"
    assert [e.type for e in events][-2:] == ["message_delta", "message_stop"]


def test_beta_create_sends_the_header(sdk: anthropic.Anthropic, emulator: EmulatorServer) -> None:
    """beta.messages.create(betas=[...]) arrives as one comma-joined anthropic-beta header."""
    betas = ["context-1m-2025-08-07", "extended-cache-ttl-2025-04-11"]
    sdk.beta.messages.create(model=MODEL, max_tokens=50, messages=HELLO, betas=betas)
    assert emulator.app.received[-1].header_values("anthropic-beta") == [",".join(betas)]


def test_unknown_beta_is_bad_request(sdk: anthropic.Anthropic) -> None:
    """An unknown beta raises BadRequestError naming it."""
    with pytest.raises(anthropic.BadRequestError, match="Unsupported beta header: no-such-beta"):
        sdk.beta.messages.create(model=MODEL, max_tokens=50, messages=HELLO, betas=["no-such-beta"])


def test_count_tokens(sdk: anthropic.Anthropic) -> None:
    """messages.count_tokens returns a positive input token count equal to create's usage."""
    counted = sdk.messages.count_tokens(model=MODEL, messages=HELLO)
    created = sdk.messages.create(model=MODEL, max_tokens=50, messages=HELLO)
    assert counted.input_tokens == created.usage.input_tokens > 0


def test_beta_count_tokens_rejects_unknown_beta(sdk: anthropic.Anthropic) -> None:
    """beta count_tokens validates betas too (it appends token-counting-2024-11-01)."""
    with pytest.raises(anthropic.BadRequestError, match="Unsupported beta header: bogus-1"):
        sdk.beta.messages.count_tokens(model=MODEL, messages=HELLO, betas=["bogus-1"])


def test_rate_limit_directive_raises_rate_limit_error(sdk: anthropic.Anthropic) -> None:
    """A 429 reaches the SDK as RateLimitError with retry-after and the request id."""
    with pytest.raises(anthropic.RateLimitError) as caught:
        sdk.messages.create(
            model=MODEL,
            max_tokens=50,
            messages=[{"role": "user", "content": "x [[emulator:rate_limited]]"}],
        )
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.request_id is not None
    assert caught.value.request_id.startswith("req_")


def test_overloaded_directive_raises_overloaded_error(sdk: anthropic.Anthropic) -> None:
    """A 529 reaches the SDK as its OverloadedError; the next identical request succeeds."""
    messages = [{"role": "user", "content": "x [[emulator:overloaded]]"}]
    with pytest.raises(anthropic.OverloadedError):
        sdk.messages.create(model=MODEL, max_tokens=50, messages=messages)
    assert (
        sdk.messages.create(model=MODEL, max_tokens=50, messages=messages).stop_reason == "end_turn"
    )


def test_error_event_raises_api_status_error(sdk: anthropic.Anthropic) -> None:
    """An `event: error` after a 200 raises APIStatusError with the overloaded type."""
    messages = [{"role": "user", "content": "x [[emulator:error_event]]"}]
    stream = sdk.messages.stream(model=MODEL, max_tokens=200, messages=messages)
    with pytest.raises(anthropic.APIStatusError) as caught, stream as events:
        events.until_done()
    assert caught.value.status_code == 200
    assert caught.value.type == "overloaded_error"


def test_dropped_stream_raises_connection_error(sdk: anthropic.Anthropic) -> None:
    """A stream cut mid-way surfaces from the SDK as the transport's RemoteProtocolError."""
    messages = [{"role": "user", "content": "x [[emulator:drop_stream]]"}]
    stream = sdk.messages.stream(model=MODEL, max_tokens=200, messages=messages)
    with (
        pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"),
        stream as events,
    ):
        events.until_done()


def test_dropped_non_streamed_reply_is_connection_error(sdk: anthropic.Anthropic) -> None:
    """A non-streamed reply cut before its body is an APIConnectionError in the SDK."""
    messages = [{"role": "user", "content": "x [[emulator:drop_stream]]"}]
    with pytest.raises(anthropic.APIConnectionError):
        sdk.messages.create(model=MODEL, max_tokens=200, messages=messages)


def test_thinking_and_tool_use_parse_into_sdk_types(sdk: anthropic.Anthropic) -> None:
    """Thinking and tool_use blocks parse into ThinkingBlock and ToolUseBlock with input."""
    message = sdk.messages.create(
        model=MODEL,
        max_tokens=4000,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        thinking={"type": "enabled", "budget_tokens": 2000},
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        tool_choice={"type": "any"},
    )
    kinds = [type(b) for b in message.content]
    assert kinds[0] is ThinkingBlock
    assert kinds[-1] is ToolUseBlock
    call = message.content[-1]
    assert isinstance(call, ToolUseBlock)
    assert call.name == "get_weather"
    assert set(call.input) == {"city", "unit"}  # type: ignore[arg-type]
    assert message.stop_reason == "tool_use"
    assert message.usage.output_tokens_details is not None
    assert message.usage.output_tokens_details.thinking_tokens > 0


def test_streamed_tool_input_accumulates(sdk: anthropic.Anthropic) -> None:
    """input_json_delta chunks accumulate into the same input as the non-streamed reply."""
    kwargs = {
        "model": MODEL,
        "max_tokens": 500,
        "messages": [{"role": "user", "content": "Weather please."}],
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "tool", "name": "get_weather"},
    }
    whole = sdk.messages.create(**kwargs)  # type: ignore[call-overload]
    with sdk.messages.stream(**kwargs) as stream:  # type: ignore[arg-type]
        final = stream.get_final_message()
    assert final.content[-1].input == whole.content[-1].input  # type: ignore[union-attr]


def test_temperature_is_rejected_under_2026_version(sdk: anthropic.Anthropic) -> None:
    """Under 2026-10-21 a temperature field is a 400 naming the field."""
    with pytest.raises(
        anthropic.BadRequestError, match="temperature: Extra inputs are not permitted"
    ):
        sdk.messages.create(
            model=MODEL, max_tokens=50, messages=HELLO, extra_body={"temperature": 0.5}
        )


def test_temperature_is_accepted_under_2023_version(sdk: anthropic.Anthropic) -> None:
    """Under 2023-06-01 the same temperature is accepted."""
    message = sdk.messages.create(
        model=MODEL,
        max_tokens=50,
        messages=HELLO,
        extra_body={"temperature": 0.5},
        extra_headers={"anthropic-version": "2023-06-01"},
    )
    assert message.stop_reason == "end_turn"


def test_unknown_model_is_not_found(sdk: anthropic.Anthropic) -> None:
    """An unknown model raises NotFoundError naming the model."""
    with pytest.raises(anthropic.NotFoundError, match="model: claude-nonexistent-1"):
        sdk.messages.create(model="claude-nonexistent-1", max_tokens=50, messages=HELLO)


@pytest.mark.anyio
async def test_async_client_create_and_stream(async_sdk: anthropic.AsyncAnthropic) -> None:
    """The async client creates and streams against the emulator."""
    message = await async_sdk.messages.create(model=MODEL, max_tokens=100, messages=HELLO)
    async with async_sdk.messages.stream(model=MODEL, max_tokens=100, messages=HELLO) as stream:
        text = await stream.get_final_text()
    assert text == message.content[0].text  # type: ignore[union-attr]
