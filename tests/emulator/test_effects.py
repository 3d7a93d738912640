"""Built-in beta effects and model limits, checked through the app in-process (ASGITransport)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from runner.emulator import EmulatorApp, EmulatorConfig, create_app
from tests.emulator.support import FAST, HEADERS, MODEL, body

TOOL = {
    "name": "lookup",
    "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
}
LONG_TEXT = "All work and no play makes a dull prompt. " * 200


@pytest.fixture
def app() -> EmulatorApp:
    """A fresh fast emulator app for one test."""
    return create_app(FAST)


@pytest.fixture
async def client(app: EmulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client calling the app in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", headers=HEADERS
    ) as c:
        yield c


async def post(
    client: httpx.AsyncClient, payload: dict[str, object], *betas: str
) -> httpx.Response:
    """POST /v1/messages with the given betas."""
    headers = {"anthropic-beta": ",".join(betas)} if betas else {}
    return await client.post("/v1/messages", json=payload, headers=headers)


def error_message(response: httpx.Response) -> str:
    """The error message of an error response."""
    return str(response.json()["error"]["message"])


@pytest.mark.anyio
async def test_same_seed_same_reply_other_seed_other_reply(client: httpx.AsyncClient) -> None:
    """Content is deterministic for (seed, body) and changes with the seed."""
    first = (await post(client, body())).json()
    again = (await post(client, body())).json()
    other_app = create_app(EmulatorConfig(seed=7, ttft_ms=0, ms_per_output_token=0))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other_app), base_url="http://e"
    ) as other:
        reseeded = (await other.post("/v1/messages", json=body(), headers=HEADERS)).json()
    assert first["content"] == again["content"]
    assert first["usage"] == again["usage"]
    assert reseeded["content"] != first["content"]


@pytest.mark.anyio
async def test_max_tokens_stops_the_reply(client: httpx.AsyncClient) -> None:
    """A reply longer than max_tokens stops there with stop_reason max_tokens."""
    reply = (await post(client, body(max_tokens=5))).json()
    assert reply["stop_reason"] == "max_tokens"
    assert reply["usage"]["output_tokens"] == 5
    assert len(reply["content"][0]["text"].split(" ")) == 5


@pytest.mark.anyio
async def test_stop_sequence_stops_the_reply(client: httpx.AsyncClient) -> None:
    """A stop sequence found in the text cuts it there and is reported."""
    text = (await post(client, body())).json()["content"][0]["text"]
    word = text.split(" ")[4]
    reply = (await post(client, body(stop_sequences=[word]))).json()
    assert reply["stop_reason"] == "stop_sequence"
    assert reply["stop_sequence"] == word
    assert word not in reply["content"][0]["text"]


@pytest.mark.anyio
async def test_prompt_cache_writes_then_reads(client: httpx.AsyncClient) -> None:
    """A cache_control prefix is written on the first call and read on the second."""
    system = [{"type": "text", "text": LONG_TEXT, "cache_control": {"type": "ephemeral"}}]
    first = (await post(client, body(system=system))).json()["usage"]
    second = (await post(client, body("Another question.", system=system))).json()["usage"]
    assert first["cache_creation_input_tokens"] > 0
    assert first["cache_read_input_tokens"] == 0
    assert (
        first["cache_creation"]["ephemeral_5m_input_tokens"] == first["cache_creation_input_tokens"]
    )
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert second["cache_creation_input_tokens"] == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("betas", "bucket"),
    [((), "5m"), (("extended-cache-ttl-2025-04-11",), "1h")],
    ids=["no-beta", "beta"],
)
async def test_one_hour_ttl_needs_the_beta(
    client: httpx.AsyncClient, betas: tuple[str, ...], bucket: str
) -> None:
    """A 1h cache_control counts as 1h only with extended-cache-ttl; otherwise as 5m."""
    system = [
        {"type": "text", "text": LONG_TEXT, "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    ]
    usage = (await post(client, body(system=system), *betas)).json()["usage"]
    assert (
        usage["cache_creation"][f"ephemeral_{bucket}_input_tokens"]
        == usage["cache_creation_input_tokens"]
        > 0
    )


@pytest.mark.anyio
async def test_count_tokens_ignores_the_cache(client: httpx.AsyncClient) -> None:
    """count_tokens counts the whole prompt and needs no max_tokens."""
    payload = {"model": MODEL, "messages": [{"role": "user", "content": "Hello there."}]}
    counted = await client.post("/v1/messages/count_tokens", json=payload)
    assert counted.json() == {
        "input_tokens": (await post(client, body())).json()["usage"]["input_tokens"]
    }


@pytest.mark.anyio
async def test_context_1m_allows_long_prompts(client: httpx.AsyncClient) -> None:
    """Over 200K input tokens is 'prompt is too long' unless context-1m is sent."""
    huge = body("word " * 170_000)
    refused = await post(client, huge)
    assert refused.status_code == 400
    assert "prompt is too long" in error_message(refused)
    assert (await post(client, huge, "context-1m-2025-08-07")).status_code == 200


@pytest.mark.anyio
async def test_context_1m_is_unavailable_on_haiku(client: httpx.AsyncClient) -> None:
    """A beta outside its models is a 400 that names the beta and the model."""
    response = await post(client, body(model="claude-haiku-4-5"), "context-1m-2025-08-07")
    assert response.status_code == 400
    assert "context-1m-2025-08-07 is not available for model claude-haiku-4-5" in error_message(
        response
    )


@pytest.mark.anyio
async def test_output_300k_raises_the_max_tokens_cap(client: httpx.AsyncClient) -> None:
    """max_tokens over the model's cap is a 400 unless output-300k raises the cap."""
    payload = body(max_tokens=100_000)
    refused = await post(client, payload)
    assert "which is the maximum allowed number of output tokens" in error_message(refused)
    assert (
        await post(client, payload, "output-300k-2026-03-24", "context-1m-2025-08-07")
    ).status_code == 200


@pytest.mark.anyio
async def test_window_exceeded_beta_stops_at_the_window(client: httpx.AsyncClient) -> None:
    """Input + max_tokens over the window: a 400, or with the beta a window-exceeded stop."""
    base = (
        await client.post(
            "/v1/messages/count_tokens",
            json={"model": MODEL, "messages": [{"role": "user", "content": ""}]},
        )
    ).json()
    text = "x" * (4 * (200_000 - 10 - base["input_tokens"]))
    payload = body(text, max_tokens=1000)
    refused = await post(client, payload)
    assert "exceed context limit" in error_message(refused)
    reply = (await post(client, payload, "model-context-window-exceeded-2025-08-26")).json()
    assert reply["stop_reason"] == "model_context_window_exceeded"
    assert reply["usage"]["input_tokens"] + reply["usage"]["output_tokens"] == 200_000


@pytest.mark.anyio
async def test_fast_mode(client: httpx.AsyncClient) -> None:
    """speed fast needs fast-mode, works on Opus 4.6 and reports usage.speed fast."""
    payload = body(model="claude-opus-4-6", speed="fast")
    assert "requires the anthropic-beta header" in error_message(await post(client, payload))
    reply = (await post(client, payload, "fast-mode-2026-02-01")).json()
    assert reply["usage"]["speed"] == "fast"
    sonnet = await post(client, body(speed="fast"), "fast-mode-2026-02-01")
    assert "not available for model" in error_message(sonnet)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("model", "saves"), [("claude-3-7-sonnet-20250219", True), (MODEL, False)], ids=["3.7", "4.6"]
)
async def test_token_efficient_tools(model: str, saves: bool) -> None:
    """token-efficient-tools cuts tool-call output tokens on 3.7 Sonnet (while it was served,
    until 2026-02-19) and is a no-op on 4.x."""
    app = create_app(dataclasses.replace(FAST, today=date(2026, 1, 1)))
    async with _client(app) as client:
        await _token_efficient_tools(client, model, saves)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("model", "today", "served"),
    [
        pytest.param("claude-sonnet-4-5", date(2026, 11, 29), True, id="sonnet-4.5-before"),
        pytest.param("claude-sonnet-4-5", date(2026, 11, 30), False, id="sonnet-4.5-on-eol"),
        pytest.param("claude-sonnet-4-5-20250929", date(2026, 12, 1), False, id="dated-alias"),
        pytest.param("claude-3-5-haiku-latest", date(2026, 12, 1), False, id="3.5-haiku"),
        pytest.param("claude-sonnet-4-0", date(2026, 12, 1), False, id="sonnet-4.0"),
        pytest.param("claude-sonnet-4-6", date(2026, 12, 1), True, id="current"),
    ],
)
async def test_a_model_past_its_end_of_life_is_not_found(
    model: str, today: date, served: bool
) -> None:
    """From its end-of-life date a model gets the API's 404 not_found_error naming it."""
    async with _client(create_app(dataclasses.replace(FAST, today=today))) as client:
        response = await post(client, body(model=model))
    if served:
        assert response.status_code == 200
        return
    assert response.status_code == 404
    assert response.json()["error"] == {"type": "not_found_error", "message": f"model: {model}"}


def _client(app: EmulatorApp) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://emulator", headers=HEADERS)


async def _token_efficient_tools(client: httpx.AsyncClient, model: str, saves: bool) -> None:
    payload = body(model=model, tools=[TOOL], tool_choice={"type": "any"})
    plain = (await post(client, payload)).json()["usage"]["output_tokens"]
    lean = (await post(client, payload, "token-efficient-tools-2025-02-19")).json()["usage"][
        "output_tokens"
    ]
    assert (lean < plain) is saves


def tool_turns(result: str = "found") -> list[dict[str, object]]:
    """A conversation that hands a tool result back."""
    return [
        {"role": "user", "content": "Look it up."},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}}
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": result}],
        },
    ]


@pytest.mark.anyio
async def test_interleaved_thinking_thinks_after_tool_results(client: httpx.AsyncClient) -> None:
    """After a tool result, a thinking block appears only with interleaved-thinking."""
    payload = {
        **body(max_tokens=3000, tools=[TOOL], thinking={"type": "enabled", "budget_tokens": 1024}),
        "messages": tool_turns(),
    }
    plain = (await post(client, payload)).json()["content"]
    interleaved = (await post(client, payload, "interleaved-thinking-2025-05-14")).json()["content"]
    assert "thinking" not in [b["type"] for b in plain]
    assert interleaved[0]["type"] == "thinking"
    assert "thinking" not in [b["type"] for b in interleaved[1:]]


@pytest.mark.anyio
async def test_interleaved_thinking_lets_budget_reach_max_tokens(client: httpx.AsyncClient) -> None:
    """budget_tokens >= max_tokens is a 400 unless interleaved-thinking is on."""
    payload = body(max_tokens=1024, thinking={"type": "enabled", "budget_tokens": 2048})
    assert "must be greater than" in error_message(await post(client, payload))
    assert (await post(client, payload, "interleaved-thinking-2025-05-14")).status_code == 200


@pytest.mark.anyio
async def test_context_management_reports_applied_edits(client: httpx.AsyncClient) -> None:
    """clear_tool_uses past its trigger lowers input tokens and lists the applied edit."""
    edit = {
        "type": "clear_tool_uses_20250919",
        "trigger": {"type": "input_tokens", "value": 1},
        "keep": {"type": "tool_uses", "value": 0},
    }
    turns = tool_turns("Order A-1 shipped on Monday from Leipzig by DHL.")
    payload = {**body(context_management={"edits": [edit]}), "messages": turns}
    assert "context_management" in error_message(await post(client, payload))
    reply = (await post(client, payload, "context-management-2025-06-27")).json()
    applied = reply["context_management"]["applied_edits"]
    assert applied == [
        {
            "type": "clear_tool_uses_20250919",
            "cleared_tool_uses": 1,
            "cleared_input_tokens": applied[0]["cleared_input_tokens"],
        }
    ]
    assert applied[0]["cleared_input_tokens"] > 0


@pytest.mark.anyio
async def test_structured_output_renders_the_schema(client: httpx.AsyncClient) -> None:
    """output_config.format makes the text JSON with the schema's properties."""
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    }
    payload = body(output_config={"format": {"type": "json_schema", "schema": schema}})
    reply = (await post(client, payload, "structured-outputs-2025-11-13")).json()
    parsed = json.loads(reply["content"][0]["text"])
    assert set(parsed) == {"name", "age"}
    assert isinstance(parsed["age"], int)


@pytest.mark.anyio
async def test_thinking_token_count_adds_estimates(client: httpx.AsyncClient) -> None:
    """thinking-token-count puts estimated_tokens on streamed thinking deltas."""
    payload = body(max_tokens=3000, stream=True, thinking={"type": "adaptive"})
    text = (await post(client, payload, "thinking-token-count-2026-05-13")).text
    deltas = [json.loads(line[6:]) for line in text.splitlines() if '"thinking_delta"' in line]
    assert deltas
    assert all(d["delta"]["estimated_tokens"] >= 1 for d in deltas)


@pytest.mark.anyio
async def test_repeats_sample_new_answers_and_arms_share_the_nth_sample() -> None:
    """With vary_samples, the same question gets a new answer each time; a header-only beta
    draws the same n-th answer as the baseline, and temperature 0 always the first."""
    sampling = create_app(dataclasses.replace(FAST, vary_samples=True))
    transport = httpx.ASGITransport(app=sampling)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", headers=HEADERS
    ) as c:
        first, second = [(await post(c, body())).json()["content"] for _ in range(2)]
        beta = "model-context-window-exceeded-2025-08-26"
        with_beta = [(await post(c, body(), beta)).json()["content"] for _ in range(2)]
        cold = [(await post(c, {**body(), "temperature": 0})).json()["content"] for _ in range(2)]
    assert first != second
    assert with_beta == [first, second]
    assert cold[0] == cold[1]
