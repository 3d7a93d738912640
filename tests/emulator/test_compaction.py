"""Server-side compaction: the compaction block, dropping what it summarises, pausing after it."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from tests.emulator.support import HEADERS, MODEL, beta_reply

BETA = "compact-2026-01-12"
LONG = "The order history of the customer, one line after another. " * 4_000  # ~60K tokens


def _edit(**fields: Any) -> dict[str, Any]:
    return {"edits": [{"type": "compact_20260112", **fields}]}


def _post(
    http: httpx.Client, messages: list[dict[str, Any]], beta: str | None = BETA, **fields: Any
) -> httpx.Response:
    body = {"model": MODEL, "max_tokens": 300, "messages": messages, **fields}
    headers = {**HEADERS, **({"anthropic-beta": beta} if beta else {})}
    return http.post("/v1/messages", json=body, headers=headers)


def _long_question() -> list[dict[str, Any]]:
    return [{"role": "user", "content": LONG + "What did the customer order last?"}]


def _reply(http: httpx.Client, messages: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    response = _post(http, messages, **fields)
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply


def test_past_the_trigger_the_reply_starts_with_a_summary_and_answers_from_it(
    http: httpx.Client,
) -> None:
    """A 60K prompt over a 50K trigger: a compaction block first, then the answer, whose input
    is the compacted prompt; iterations bill the compaction (the whole prompt) apart."""
    plain = _reply(http, _long_question())
    reply = _reply(http, _long_question(), context_management=_edit(trigger=_trigger(50_000)))
    block, *answer = reply["content"]
    assert block["type"] == "compaction"
    assert block["content"].startswith("Summary of the conversation so far.")
    assert [b["type"] for b in answer] == ["text"]
    assert reply["stop_reason"] == "end_turn"
    usage = reply["usage"]
    compaction, message = usage["iterations"]
    assert compaction["type"] == "compaction"
    assert compaction["input_tokens"] == plain["usage"]["input_tokens"]
    assert message == {
        "type": "message",
        "input_tokens": usage["input_tokens"],
        "output_tokens": usage["output_tokens"],
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    assert usage["input_tokens"] < plain["usage"]["input_tokens"] / 10


def _trigger(value: int) -> dict[str, Any]:
    return {"type": "input_tokens", "value": value}


def test_the_next_request_sees_only_what_follows_the_compaction_block(http: httpx.Client) -> None:
    """Sent back, the compaction block replaces everything before it; a block with null
    content (a failed compaction) changes nothing."""
    edit = _edit(trigger=_trigger(50_000))
    first = _reply(http, _long_question(), context_management=edit)
    follow_up = {"role": "user", "content": "And when will it arrive?"}
    history = [*_long_question(), {"role": "assistant", "content": first["content"]}, follow_up]
    after = _reply(http, history, context_management=edit)
    assert [b["type"] for b in after["content"]] == ["text"]
    assert "iterations" not in after["usage"]
    assert after["usage"]["input_tokens"] < first["usage"]["iterations"][0]["input_tokens"] / 10
    failed = [{"type": "compaction", "content": None}, *first["content"][1:]]
    history[1] = {"role": "assistant", "content": failed}
    no_op = _reply(http, history)
    history[1] = {"role": "assistant", "content": failed[1:]}
    without = _reply(http, history)
    assert no_op["usage"]["input_tokens"] == without["usage"]["input_tokens"] > 50_000


def test_pause_after_compaction_returns_the_block_alone_then_continues(
    http: httpx.Client,
) -> None:
    """pause_after_compaction: stop_reason compaction, content the block, usage only in the
    compaction iteration; sent back as is, the answer comes from the summary."""
    edit = _edit(trigger=_trigger(50_000), pause_after_compaction=True)
    paused = _reply(http, _long_question(), context_management=edit)
    assert paused["stop_reason"] == "compaction"
    assert [b["type"] for b in paused["content"]] == ["compaction"]
    assert paused["usage"]["input_tokens"] == paused["usage"]["output_tokens"] == 0
    assert [i["type"] for i in paused["usage"]["iterations"]] == ["compaction"]
    history = [*_long_question(), {"role": "assistant", "content": paused["content"]}]
    answer = _reply(http, history, context_management=edit)
    assert answer["stop_reason"] == "end_turn"
    assert [b["type"] for b in answer["content"]] == ["text"]
    assert 0 < answer["usage"]["input_tokens"] < 5_000


def test_the_compaction_reads_the_cached_prompt_and_the_answer_starts_a_new_one(
    http: httpx.Client,
) -> None:
    """With caching on, the compaction's iteration reads the previous turn's prompt from the
    cache; the answer's compacted prompt is new, so it reads nothing."""
    cached = {"cache_control": {"type": "ephemeral"}}
    first = _reply(http, _long_question(), **cached)
    assert first["usage"]["cache_creation_input_tokens"] > 50_000
    history = [
        *_long_question(),
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": "And when will it arrive?"},
    ]
    edit = _edit(trigger=_trigger(50_000))
    reply = _reply(http, history, context_management=edit, **cached)
    compaction, message = reply["usage"]["iterations"]
    assert compaction["cache_read_input_tokens"] == first["usage"]["cache_creation_input_tokens"]
    assert compaction["input_tokens"] < 100
    assert message["cache_read_input_tokens"] == reply["usage"]["cache_read_input_tokens"] == 0


def test_count_tokens_counts_the_prompt_as_sent(http: httpx.Client) -> None:
    """Compaction happens while sampling: count_tokens counts the whole prompt, but still
    drops what a returned compaction block summarises."""
    body = {"model": MODEL, "messages": _long_question()}
    headers = {**HEADERS, "anthropic-beta": BETA}
    edit = _edit(trigger=_trigger(50_000))
    whole = http.post("/v1/messages/count_tokens", json=body, headers=headers).json()
    counted = http.post(
        "/v1/messages/count_tokens", json={**body, "context_management": edit}, headers=headers
    ).json()
    assert counted["input_tokens"] == whole["input_tokens"] > 50_000
    summary = {"role": "assistant", "content": [{"type": "compaction", "content": "Short."}]}
    later = {**body, "messages": [*body["messages"], summary, {"role": "user", "content": "Hi"}]}
    after = http.post("/v1/messages/count_tokens", json=later, headers=headers).json()
    assert after["input_tokens"] < 100


@pytest.mark.parametrize(
    ("beta", "fields", "model", "says"),
    [
        (None, {"context_management": _edit()}, MODEL, "context_management: Extra inputs"),
        (
            "context-management-2025-06-27",
            {"context_management": _edit()},
            MODEL,
            "requires the beta compact-2026-01-12",
        ),
        (
            BETA,
            {"context_management": _edit(trigger=_trigger(1_000))},
            MODEL,
            "greater than or equal to 50000",
        ),
        (BETA, {"context_management": _edit()}, "claude-opus-4-5", "is not available"),
    ],
    ids=["no-beta", "clearing-beta-only", "low-trigger", "old-model"],
)
def test_compaction_requests_the_api_refuses_are_400s(
    http: httpx.Client, beta: str | None, fields: dict[str, Any], model: str, says: str
) -> None:
    """The beta is needed, the trigger has a 50K floor, and older models do not compact."""
    response = _post(http, [{"role": "user", "content": "Hi."}], beta, **fields, model=model)
    assert response.status_code == 400
    assert says in response.json()["error"]["message"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_the_sdk_reads_compaction_blocks_and_continues_a_paused_compaction(
    sdk: anthropic.Anthropic, stream: bool
) -> None:
    """The official SDK parses the block (and its streamed delta), the compaction stop reason
    and the typed iterations; sending the paused reply back gets the answer."""
    params: Any = {
        "model": MODEL,
        "max_tokens": 300,
        "betas": [BETA],
        "context_management": _edit(trigger=_trigger(50_000), pause_after_compaction=True),
    }
    messages: list[Any] = _long_question()
    replies = []
    for _ in range(2):
        message = beta_reply(sdk, stream, messages, params)
        replies.append(message)
        messages = [*messages, {"role": "assistant", "content": message.content}]
    paused, answer = replies
    assert paused.stop_reason == "compaction"
    block = paused.content[0]
    assert block.type == "compaction"
    assert block.content is not None
    assert block.content.startswith("Summary of the conversation so far.")
    assert paused.usage.iterations is not None
    assert paused.usage.iterations[0].type == "compaction"
    assert answer.stop_reason == "end_turn"
    assert answer.content[0].type == "text"
