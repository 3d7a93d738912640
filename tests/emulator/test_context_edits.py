"""Context editing's finer settings: clear_at_least, exclude_tools, clear_tool_inputs, triggers."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx

from tests.emulator.support import HEADERS, MODEL

BETA = "context-management-2025-06-27"
LOOKUP = "Order A-1 left the Leipzig warehouse and was scanned in Berlin. " * 20
POLICY = "Refunds are paid within five business days of the return. " * 20
TOOLS = [
    {"name": name, "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}
    for name in ("lookup_order", "refund_policy")
]
CALLS = [("lookup_order", LOOKUP), ("refund_policy", POLICY), ("lookup_order", LOOKUP)]


def _history() -> list[dict[str, Any]]:
    """Three answered tool uses (lookup, policy, lookup) after one question."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Where is order A-1?"}]
    for n, (name, result) in enumerate(CALLS):
        use = {"type": "tool_use", "id": f"toolu_{n}", "name": name, "input": {"q": "A-1 " * 30}}
        answer = {"type": "tool_result", "tool_use_id": f"toolu_{n}", "content": result}
        messages += [
            {"role": "assistant", "content": [use]},
            {"role": "user", "content": [answer]},
        ]
    return messages


def _reply(http: httpx.Client, **edit: Any) -> dict[str, Any]:
    """The reply to the history with one clear_tool_uses edit (keep 1, trigger 100 tokens)."""
    clear = {
        "type": "clear_tool_uses_20250919",
        "trigger": {"type": "input_tokens", "value": 100},
        "keep": {"type": "tool_uses", "value": 1},
        **edit,
    }
    body = {
        "model": MODEL,
        "max_tokens": 200,
        "tools": TOOLS,
        "messages": _history(),
        "context_management": {"edits": [clear]},
    }
    response = http.post("/v1/messages", json=body, headers={**HEADERS, "anthropic-beta": BETA})
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply


def _applied(reply: dict[str, Any]) -> list[dict[str, Any]]:
    edits: list[dict[str, Any]] = reply["context_management"]["applied_edits"]
    return edits


def test_clear_at_least_leaves_the_prompt_alone_when_too_little_would_go(
    http: httpx.Client,
) -> None:
    """Clearing the two old results frees N tokens: clear_at_least N applies, N+1 does not."""
    cleared = _applied(_reply(http))
    assert cleared[0]["cleared_tool_uses"] == 2
    freed = cleared[0]["cleared_input_tokens"]
    enough = _reply(http, clear_at_least={"type": "input_tokens", "value": freed})
    too_much = _reply(http, clear_at_least={"type": "input_tokens", "value": freed + 1})
    assert _applied(enough) == cleared
    assert _applied(too_much) == []
    difference = too_much["usage"]["input_tokens"] - enough["usage"]["input_tokens"]
    assert difference == freed


def test_excluded_tools_keep_their_results(http: httpx.Client) -> None:
    """exclude_tools: the policy result stays, so only the old lookup is cleared."""
    everything = _applied(_reply(http))[0]
    kept = _applied(_reply(http, exclude_tools=["refund_policy"]))[0]
    assert kept["cleared_tool_uses"] == 1
    assert 0 < kept["cleared_input_tokens"] < everything["cleared_input_tokens"]
    none = _reply(http, exclude_tools=["refund_policy", "lookup_order"])
    assert _applied(none) == []


def test_clear_tool_inputs_clears_the_calls_inputs_too(http: httpx.Client) -> None:
    """clear_tool_inputs also frees the inputs of the cleared uses: all of them, or the listed
    tools' only; false leaves them."""

    def freed(inputs: object) -> int:
        edit = _applied(_reply(http, clear_tool_inputs=inputs))[0]
        assert edit["cleared_tool_uses"] == 2
        tokens: int = edit["cleared_input_tokens"]
        return tokens

    results_only = _applied(_reply(http))[0]["cleared_input_tokens"]
    assert freed(False) == results_only
    assert results_only < freed(["refund_policy"]) < freed(True)


def test_a_tool_uses_trigger_counts_the_calls(http: httpx.Client) -> None:
    """A tool_uses trigger fires at three uses in the prompt, not at four."""
    three = _reply(http, trigger={"type": "tool_uses", "value": 3})
    four = _reply(http, trigger={"type": "tool_uses", "value": 4})
    assert _applied(three)[0]["cleared_tool_uses"] == 2
    assert _applied(four) == []


def test_the_sdk_parses_an_edit_with_every_setting(sdk: anthropic.Anthropic) -> None:
    """The official SDK sends all the fields and reads the applied edit back typed."""
    edit: Any = {
        "type": "clear_tool_uses_20250919",
        "trigger": {"type": "input_tokens", "value": 100},
        "keep": {"type": "tool_uses", "value": 1},
        "clear_at_least": {"type": "input_tokens", "value": 50},
        "exclude_tools": ["refund_policy"],
        "clear_tool_inputs": True,
    }
    message = sdk.beta.messages.create(
        model=MODEL,
        max_tokens=200,
        tools=TOOLS,  # type: ignore[arg-type]
        messages=_history(),  # type: ignore[arg-type]
        betas=[BETA],
        context_management={"edits": [edit]},
    )
    assert message.context_management is not None
    applied = message.context_management.applied_edits[0]
    assert applied.type == "clear_tool_uses_20250919"
    assert applied.cleared_tool_uses == 1
    assert applied.cleared_input_tokens >= 50
