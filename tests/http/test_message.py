"""Reading a Messages API response into recorded values and evidence signals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runner.http.message import evidence, read_message

PLAIN: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-test",
    "content": [{"type": "text", "text": "Hello "}, {"type": "text", "text": "there."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 410,
        "output_tokens": 585,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "service_tier": "standard",
    },
}


def test_read_message_extracts_text_and_usage() -> None:
    """Text blocks are joined; usage counts and stop reason are read as given."""
    facts = read_message(PLAIN)

    assert facts.text == "Hello there."
    assert facts.stop_reason == "end_turn"
    assert (facts.input_tokens, facts.output_tokens) == (410, 585)
    assert (facts.cache_creation_input_tokens, facts.cache_read_input_tokens) == (0, 0)
    assert facts.thinking_tokens is None
    assert facts.content_types == ["text", "text"]
    assert json.loads(facts.content_json) == PLAIN["content"]
    assert json.loads(facts.usage_json) == PLAIN["usage"]


def test_a_reply_with_iterations_is_billed_for_all_of_them() -> None:
    """usage.iterations (a compaction first, then the answer) are summed: the compaction's
    tokens are billed though the top-level usage leaves them out."""
    iterations = [
        {"type": "compaction", "input_tokens": 60_000, "output_tokens": 900},
        {"type": "message", "input_tokens": 1_200, "output_tokens": 80},
    ]
    usage = {**PLAIN["usage"], "input_tokens": 1_200, "output_tokens": 80}
    facts = read_message({**PLAIN, "usage": {**usage, "iterations": iterations}})

    assert (facts.input_tokens, facts.output_tokens) == (61_200, 980)
    assert (facts.cache_creation_input_tokens, facts.cache_read_input_tokens) == (None, None)


def test_plain_answer_has_no_evidence() -> None:
    """A plain text answer with standard usage shows no signal."""
    assert read_message(PLAIN).evidence == []


def test_read_message_reads_thinking_tokens_and_skips_thinking_text() -> None:
    """output_tokens_details.thinking_tokens is read; thinking blocks are not part of the text."""
    message = {
        **PLAIN,
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "text", "text": "42"},
        ],
        "usage": {**PLAIN["usage"], "output_tokens_details": {"thinking_tokens": 120}},
    }

    facts = read_message(message)

    assert facts.text == "42"
    assert facts.thinking_tokens == 120
    assert facts.content_types == ["thinking", "text"]
    assert "block:thinking" in facts.evidence


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        pytest.param({"input_tokens": "10", "output_tokens": None}, (None, None), id="not-ints"),
        pytest.param({"input_tokens": True, "output_tokens": 3}, (None, 3), id="bool-not-int"),
        pytest.param({}, (None, None), id="missing"),
    ],
)
def test_read_message_ignores_non_integer_counts(
    usage: dict[str, Any], expected: tuple[int | None, int | None]
) -> None:
    """Counts that are not integers are recorded as missing rather than guessed."""
    facts = read_message({**PLAIN, "usage": usage})

    assert (facts.input_tokens, facts.output_tokens) == expected


def test_read_message_of_an_empty_dict() -> None:
    """An empty message reads as empty text, no counts and no evidence."""
    facts = read_message({})

    assert (facts.text, facts.stop_reason, facts.content_types, facts.evidence) == (
        "",
        None,
        [],
        [],
    )


@pytest.mark.parametrize(
    ("change", "signal"),
    [
        pytest.param(
            {"content": [{"type": "thinking", "thinking": "x"}, {"type": "text", "text": "y"}]},
            "block:thinking",
            id="thinking-block",
        ),
        pytest.param(
            {"content": [{"type": "tool_use", "id": "t", "name": "n", "input": {}}]},
            "block:tool_use",
            id="tool-use-block",
        ),
        pytest.param({"stop_reason": "refusal"}, "stop_reason:refusal", id="stop-refusal"),
        pytest.param({"stop_reason": "compaction"}, "stop_reason:compaction", id="stop-compaction"),
        pytest.param(
            {"usage": {**PLAIN["usage"], "speed": "fast"}}, "usage.speed=fast", id="fast-speed"
        ),
        pytest.param(
            {"context_management": {"applied_edits": [{"type": "clear"}]}},
            "field:context_management",
            id="context-management",
        ),
        pytest.param(
            {"usage": {**PLAIN["usage"], "cache_read_input_tokens": 900}},
            "usage.cache_read_input_tokens",
            id="cache-read",
        ),
        pytest.param(
            {"usage": {**PLAIN["usage"], "server_tool_use": {"web_search_requests": 2}}},
            "usage.server_tool_use.web_search_requests",
            id="server-tool-use",
        ),
    ],
)
def test_evidence_signals(change: dict[str, Any], signal: str) -> None:
    """A trace a beta may leave in the response shows up as a named signal."""
    assert signal in evidence({**PLAIN, **change})


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"stop_reason": "max_tokens"}, id="stop-max-tokens"),
        pytest.param({"stop_reason": "stop_sequence"}, id="stop-sequence"),
        pytest.param({"usage": {**PLAIN["usage"], "speed": "standard"}}, id="standard-speed"),
        pytest.param({"context_management": None}, id="null-field"),
        pytest.param(
            {"usage": {**PLAIN["usage"], "server_tool_use": {"web_search_requests": 0}}},
            id="zero-server-tool-use",
        ),
    ],
)
def test_plain_variations_are_not_evidence(change: dict[str, Any]) -> None:
    """Ordinary stop reasons, standard values and empty fields leave no signal."""
    assert evidence({**PLAIN, **change}) == []


def test_evidence_is_sorted_and_unique() -> None:
    """Signals come back sorted, each once."""
    message = {
        **PLAIN,
        "content": [{"type": "thinking", "thinking": "a"}, {"type": "thinking", "thinking": "b"}],
        "stop_reason": "pause_turn",
        "usage": {**PLAIN["usage"], "speed": "fast"},
    }

    assert evidence(message) == ["block:thinking", "stop_reason:pause_turn", "usage.speed=fast"]


@pytest.mark.parametrize(
    ("kinds", "shown"),
    [
        pytest.param(["thinking", "text", "tool_use"], False, id="thinking-first"),
        pytest.param(["text", "tool_use", "thinking", "tool_use"], True, id="between-calls"),
        pytest.param(["thinking", "text"], False, id="no-tool"),
    ],
)
def test_thinking_after_a_tool_call_is_interleaved_evidence(kinds: list[str], shown: bool) -> None:
    """A thinking block after a tool_use block in one reply is interleaved thinking's trace."""
    message = {"content": [{"type": kind} for kind in kinds], "stop_reason": "tool_use"}
    assert ("block:thinking_after_tool" in evidence(message)) is shown
