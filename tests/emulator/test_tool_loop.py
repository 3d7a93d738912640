"""Tool loops against the emulator: calls valid for the schema, results checked, edits, cache."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import ToolUseBlock

from runner.emulator import EmulatorServer
from tests.emulator.support import HEADERS, MODEL, beta_reply

CONTEXT_MANAGEMENT = "context-management-2025-06-27"
ORDER_TOOL = {
    "name": "lookup_order",
    "description": "Find an order by its number.",
    "input_schema": {
        "type": "object",
        "properties": {
            "order_id": {"type": "string"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 5},
            "region": {"enum": ["eu", "us"]},
        },
        "required": ["order_id", "limit", "region"],
    },
}
REFUND_TOOL = {
    "name": "refund_policy",
    "description": "The refund policy for a product category.",
    "input_schema": {"type": "object", "properties": {"category": {"type": "string"}}},
}
TOOLS = [ORDER_TOOL, REFUND_TOOL]
QUESTION = "Where is order A-1? Look up the order and check the refund policy too."
LONG_RESULT = "Order history line. " * 300


def _post(http: httpx.Client, body: dict[str, Any], beta: str | None = None) -> httpx.Response:
    headers = {**HEADERS, **({"anthropic-beta": beta} if beta else {})}
    return http.post("/v1/messages", json=body, headers=headers)


def _loop(
    http: httpx.Client, extra: dict[str, Any] | None = None, beta: str | None = None
) -> list[dict[str, Any]]:
    """Run a tool loop to its end; every reply in order."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": QUESTION}]
    replies = []
    for _ in range(12):
        body = {"model": MODEL, "max_tokens": 400, "tools": TOOLS, "messages": messages}
        reply = _post(http, {**body, **(extra or {})}, beta).json()
        replies.append(reply)
        if reply["stop_reason"] != "tool_use":
            return replies
        calls = [b for b in reply["content"] if b["type"] == "tool_use"]
        results = [
            {"type": "tool_result", "tool_use_id": c["id"], "content": LONG_RESULT} for c in calls
        ]
        messages += [
            {"role": "assistant", "content": reply["content"]},
            {"role": "user", "content": results},
        ]
    raise AssertionError("the loop did not end")


def test_a_loop_calls_the_mentioned_tools_with_valid_input_then_answers(
    http: httpx.Client,
) -> None:
    """Both mentioned tools are called (input valid for the schema), then a text answer."""
    replies = _loop(http)
    calls = [b for r in replies for b in r["content"] if b["type"] == "tool_use"]
    assert {c["name"] for c in calls} >= {"lookup_order", "refund_policy"}
    order = next(c for c in calls if c["name"] == "lookup_order")["input"]
    assert set(order) == {"order_id", "limit", "region"}
    assert isinstance(order["order_id"], str)
    assert 1 <= order["limit"] <= 5
    assert order["region"] == "eu"
    assert replies[-1]["stop_reason"] == "end_turn"
    assert [b["type"] for b in replies[-1]["content"]] == ["text"]


def test_the_same_seed_gives_the_same_loop(http: httpx.Client, emulator: EmulatorServer) -> None:
    """A loop is deterministic for a seed: the same calls with the same ids and inputs."""
    first = _loop(http)
    emulator.app.reset()
    assert [r["content"] for r in _loop(http)] == [r["content"] for r in first]


def test_parallel_calls_are_answered_in_one_message(http: httpx.Client) -> None:
    """Over many questions some turns call two tools at once; never with parallel off."""

    def calls_per_turn(choice: dict[str, Any] | None) -> list[int]:
        counts = []
        for n in range(12):
            body = {
                "model": MODEL,
                "max_tokens": 300,
                "tools": TOOLS,
                "messages": [{"role": "user", "content": f"Case {n}: order and refund policy?"}],
                **({"tool_choice": choice} if choice else {}),
            }
            content = _post(http, body).json()["content"]
            counts.append(sum(b["type"] == "tool_use" for b in content))
        return counts

    assert max(calls_per_turn(None)) == 2
    assert max(calls_per_turn({"type": "auto", "disable_parallel_tool_use": True})) == 1


@pytest.mark.parametrize(
    ("results", "says"),
    [
        pytest.param([], "without `tool_result` blocks", id="unanswered"),
        pytest.param(
            [{"type": "tool_result", "tool_use_id": "toolu_other", "content": "x"}],
            "unexpected `tool_use_id`",
            id="unknown-id",
        ),
        pytest.param(
            [
                {"type": "text", "text": "here you go"},
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"},
            ],
            "must come before any other content",
            id="text-first",
        ),
    ],
)
def test_a_wrong_tool_result_message_is_a_400(
    http: httpx.Client, results: list[dict[str, Any]], says: str
) -> None:
    """Every tool_use must be answered in the next message, results first, ids known."""
    call = {"type": "tool_use", "id": "toolu_1", "name": "lookup_order", "input": {}}
    content = results or [{"type": "text", "text": "never mind"}]
    messages = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": content},
    ]
    response = _post(
        http, {"model": MODEL, "max_tokens": 100, "tools": TOOLS, "messages": messages}
    )
    assert response.status_code == 400
    assert says in response.json()["error"]["message"]


def test_context_management_clears_old_results_and_reports_the_edits(http: httpx.Client) -> None:
    """With the beta, late turns count fewer input tokens and report applied_edits."""
    edits = {
        "edits": [
            {
                "type": "clear_tool_uses_20250919",
                "trigger": {"type": "input_tokens", "value": 1000},
                "keep": {"type": "tool_uses", "value": 1},
            }
        ]
    }
    plain = _loop(http)
    managed = _loop(http, {"context_management": edits}, CONTEXT_MANAGEMENT)
    assert [r["content"] for r in plain[:-1]] == [r["content"] for r in managed[:-1]]
    assert managed[-1]["usage"]["input_tokens"] < plain[-1]["usage"]["input_tokens"]
    applied = managed[-1]["context_management"]["applied_edits"]
    assert applied[0]["type"] == "clear_tool_uses_20250919"
    assert applied[0]["cleared_tool_uses"] >= 1
    cleared = applied[0]["cleared_input_tokens"]
    assert plain[-1]["usage"]["input_tokens"] - managed[-1]["usage"]["input_tokens"] == cleared
    assert "context_management" not in plain[-1]


def test_a_marked_last_block_reads_the_previous_turns_prompt_from_cache(
    http: httpx.Client,
) -> None:
    """Top-level cache_control: each later turn of a loop reads the earlier prompt."""
    replies = _loop(http, {"cache_control": {"type": "ephemeral"}})
    assert len(replies) >= 3
    usage = [r["usage"] for r in replies]
    assert usage[1]["cache_creation_input_tokens"] > 0
    assert usage[2]["cache_read_input_tokens"] >= usage[1]["cache_creation_input_tokens"]
    uncached = _loop(http)
    assert all(r["usage"]["cache_read_input_tokens"] == 0 for r in uncached)


def test_streamed_tool_input_arrives_as_json_deltas(http: httpx.Client) -> None:
    """A streamed tool call sends its input as input_json_delta pieces that parse whole."""
    body = {
        "model": MODEL,
        "max_tokens": 300,
        "tools": TOOLS,
        "stream": True,
        "messages": [{"role": "user", "content": QUESTION}],
    }
    with http.stream("POST", "/v1/messages", json=body) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    events = [json.loads(line[6:]) for line in lines]
    tool_index = next(
        e["index"]
        for e in events
        if e["type"] == "content_block_start" and e["content_block"]["type"] == "tool_use"
    )
    pieces = [
        e["delta"]["partial_json"]
        for e in events
        if e["type"] == "content_block_delta" and e["index"] == tool_index
    ]
    assert len(pieces) > 1
    assert set(json.loads("".join(pieces))) == {"order_id", "limit", "region"}
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_the_sdk_drives_a_tool_loop_with_context_management(
    sdk: anthropic.Anthropic, stream: bool
) -> None:
    """The official SDK runs a whole loop (beta client, streamed or not) to a text answer."""
    messages: list[Any] = [{"role": "user", "content": QUESTION}]
    edits = {
        "edits": [
            {
                "type": "clear_tool_uses_20250919",
                "trigger": {"type": "input_tokens", "value": 1000},
                "keep": {"type": "tool_uses", "value": 1},
            }
        ]
    }
    params: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 400,
        "tools": TOOLS,
        "betas": [CONTEXT_MANAGEMENT],
        "context_management": edits,
    }
    for _ in range(12):
        message = beta_reply(sdk, stream, messages, params)
        if message.stop_reason != "tool_use":
            break
        calls = [b for b in message.content if b.type == "tool_use"]
        assert all(isinstance(call.input, dict) and call.input for call in calls)
        messages.append({"role": "assistant", "content": message.content})
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": c.id, "content": LONG_RESULT}
                    for c in calls
                ],
            }
        )
    assert message.stop_reason == "end_turn"
    assert len(messages) >= 5
    assert message.context_management is not None
    assert message.context_management.applied_edits[0].type == "clear_tool_uses_20250919"
    assert not isinstance(message.content[-1], ToolUseBlock)


def test_clearing_tool_results_changes_the_cached_prefix(http: httpx.Client) -> None:
    """Once context management clears a result, the prompt after it no longer matches the
    cache: that turn reads less from cache than the same turn without the edit."""
    edits = {
        "edits": [
            {
                "type": "clear_tool_uses_20250919",
                "trigger": {"type": "input_tokens", "value": 1000},
                "keep": {"type": "tool_uses", "value": 1},
            }
        ]
    }
    cached = {"cache_control": {"type": "ephemeral"}}
    plain = _loop(http, cached)
    managed = _loop(http, {**cached, "context_management": edits}, CONTEXT_MANAGEMENT)
    first = next(i for i, r in enumerate(managed) if r.get("context_management", {}).get(
        "applied_edits"))  # fmt: skip
    assert (
        managed[first]["usage"]["cache_read_input_tokens"]
        < (plain[first]["usage"]["cache_read_input_tokens"])
    )
    assert plain[first]["usage"]["cache_read_input_tokens"] > 0


def test_thinking_blocks_must_come_back_unchanged(http: httpx.Client) -> None:
    """With interleaved thinking the loop thinks after each result; a thinking block handed
    back with its text changed is a 400, as a tampered signature is for the API."""
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 3000}
    replies = _loop(http, thinking, "interleaved-thinking-2025-05-14")
    assert len(replies) >= 2
    assert all(r["content"][0]["type"] == "thinking" for r in replies)
    first = replies[0]
    tampered = [{**first["content"][0], "thinking": "Something else."}, *first["content"][1:]]
    calls = [b for b in first["content"] if b["type"] == "tool_use"]
    messages = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": tampered},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": c["id"], "content": "x"} for c in calls
            ],
        },
    ]
    body = {"model": MODEL, "max_tokens": 3000, "tools": TOOLS, "messages": messages, **thinking}
    response = _post(http, body, "interleaved-thinking-2025-05-14")
    assert response.status_code == 400
    assert "Invalid `signature` in `thinking` block" in response.json()["error"]["message"]
