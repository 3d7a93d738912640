"""The web search server tool and pause_turn: a long server-side turn pauses and is continued."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from runner.emulator import EmulatorServer
from tests.emulator.support import FAST, MODEL

SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
QUESTION = "Search the news about the Leipzig warehouse strike and summarise it."


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    """An emulator whose server-side loop runs two searches per response."""
    with EmulatorServer(dataclasses.replace(FAST, server_tool_iterations=2)) as running:
        yield running


def _body(messages: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 600, "tools": [SEARCH], "messages": messages, **fields}


def _turn(http: httpx.Client) -> list[dict[str, Any]]:
    """One user turn, continued while it pauses: every reply in order."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": QUESTION}]
    replies = []
    for _ in range(6):
        response = http.post("/v1/messages", json=_body(messages))
        assert response.status_code == 200, response.text
        replies.append(response.json())
        if replies[-1]["stop_reason"] != "pause_turn":
            return replies
        messages.append({"role": "assistant", "content": replies[-1]["content"]})
    raise AssertionError("the turn never ended")


def _types(reply: dict[str, Any]) -> list[str]:
    return [block["type"] for block in reply["content"]]


def test_five_searches_at_two_a_response_pause_twice_then_answer(http: httpx.Client) -> None:
    """max_uses 5, two per response: pause_turn, pause_turn, then the last search and a text."""
    replies = _turn(http)
    assert [r["stop_reason"] for r in replies] == ["pause_turn", "pause_turn", "end_turn"]
    searches = [r["usage"]["server_tool_use"]["web_search_requests"] for r in replies]
    assert searches == [2, 2, 1]
    paused = _types(replies[0])
    assert paused == ["text", "server_tool_use", "web_search_tool_result"] * 2
    assert _types(replies[2])[-1] == "text"
    for reply in replies:
        uses = [b for b in reply["content"] if b["type"] == "server_tool_use"]
        results = [b for b in reply["content"] if b["type"] == "web_search_tool_result"]
        assert [u["id"] for u in uses] == [r["tool_use_id"] for r in results]
        assert all(u["id"].startswith("srvtoolu_") and u["input"]["query"] for u in uses)


def test_a_turn_within_the_loop_cap_does_not_pause(http: httpx.Client) -> None:
    """Two searches fit in one response: no pause, the answer comes at once."""
    body = _body([{"role": "user", "content": QUESTION}])
    body["tools"] = [{**SEARCH, "max_uses": 2}]
    reply = http.post("/v1/messages", json=body).json()
    assert reply["stop_reason"] == "end_turn"
    assert reply["usage"]["server_tool_use"]["web_search_requests"] == 2


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_the_sdk_reads_a_paused_turn_and_continues_it(
    sdk: anthropic.Anthropic, stream: bool
) -> None:
    """The official SDK parses the paused reply (typed server tool blocks) over JSON and SSE,
    and sending it back as is continues the turn to its end."""
    messages: list[Any] = [{"role": "user", "content": QUESTION}]
    reasons = []
    for _ in range(6):
        params: Any = {"model": MODEL, "max_tokens": 600, "tools": [SEARCH], "messages": messages}
        if stream:
            with sdk.messages.stream(**params) as events:
                message = events.get_final_message()
        else:
            message = sdk.messages.create(**params)
        reasons.append(message.stop_reason)
        if message.stop_reason != "pause_turn":
            break
        assert [b.type for b in message.content][1:3] == [
            "server_tool_use",
            "web_search_tool_result",
        ]
        messages.append({"role": "assistant", "content": message.content})
    assert reasons == ["pause_turn", "pause_turn", "end_turn"]
    assert message.usage.server_tool_use is not None
    assert message.usage.server_tool_use.web_search_requests == 1


def test_streamed_and_json_replies_are_the_same_turn(http: httpx.Client) -> None:
    """A streamed paused reply folds into the JSON one: the result arrives whole at its start."""
    body = _body([{"role": "user", "content": QUESTION}])
    plain = http.post("/v1/messages", json=body).json()
    with http.stream("POST", "/v1/messages", json={**body, "stream": True}) as response:
        lines = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    events = [json.loads(line) for line in lines]
    starts = [e["content_block"] for e in events if e["type"] == "content_block_start"]
    result = next(b for b in starts if b["type"] == "web_search_tool_result")
    assert result == plain["content"][2]
    deltas = [e for e in events if e["type"] == "content_block_delta" and e["index"] == 2]
    assert deltas == []
    final = [e for e in events if e["type"] == "message_delta"][-1]
    assert final["delta"]["stop_reason"] == "pause_turn"
    assert final["usage"]["server_tool_use"]["web_search_requests"] == 2
