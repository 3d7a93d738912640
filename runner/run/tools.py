"""Answering a reply's tool calls from the case's scripts: one user message of tool results.

Every `tool_use` block of the reply gets one `tool_result` block, in the order of the calls,
all in one user message (as the API requires). The result is the script's: a fixed string; the
n-th string of a list for the tool's n-th call in the conversation; or what a Python callable
returns for the call's input (a string as is, anything else as JSON), run in a worker thread so
a slow tool never blocks other requests. A tool the case does not script, a list that has run
out, or a callable that raises gives an `is_error: true` result saying so: the model sees the
failure, as it would from a real tool, and the run goes on.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

import anyio

from runner.config.types import Case, JSONObject, JSONValue, ToolScript


@dataclass(frozen=True)
class ToolCall:
    """One `tool_use` block of a reply."""

    id: str
    name: str
    input: JSONObject

    @classmethod
    def from_block(cls, block: dict[str, object]) -> ToolCall:
        """The call a content block describes."""
        arguments = block.get("input")
        value = arguments if isinstance(arguments, dict) else {}
        return cls(str(block.get("id")), str(block.get("name")), value)


def tool_calls(content: list[dict[str, object]]) -> list[ToolCall]:
    """The tool calls in a reply's content, in order."""
    return [ToolCall.from_block(b) for b in content if b.get("type") == "tool_use"]


@dataclass(frozen=True)
class ToolResults:
    """The user message answering a reply's calls, and how many of its results are errors."""

    message: JSONObject
    errors: int


async def answer_calls(case: Case, calls: list[ToolCall], made: Counter[str]) -> ToolResults:
    """Results for `calls`; `made` counts each tool's earlier calls (updated here)."""
    blocks: list[JSONValue] = []
    errors = 0
    for call in calls:
        made[call.name] += 1
        text, failed = await _result(case, call, made[call.name])
        block: JSONObject = {"type": "tool_result", "tool_use_id": call.id, "content": text}
        if failed:
            block["is_error"] = True
            errors += 1
        blocks.append(block)
    return ToolResults({"role": "user", "content": blocks}, errors)


async def _result(case: Case, call: ToolCall, nth: int) -> tuple[str, bool]:
    script = case.script(call.name)
    if script is None:
        return (
            f"No result is scripted for the tool '{call.name}' in case '{case.id}'; "
            "beta-runner answered with this error.",
            True,
        )
    if script.call is not None:
        return await _run_function(script, call)
    if nth > len(script.replies):
        return (
            f"The case scripts {len(script.replies)} result(s) for '{call.name}' and this is "
            f"call {nth}; beta-runner answered with this error.",
            True,
        )
    return script.replies[nth - 1], False


async def _run_function(script: ToolScript, call: ToolCall) -> tuple[str, bool]:
    function = script.call
    assert function is not None  # checked by the caller
    try:
        value = await anyio.to_thread.run_sync(function, dict(call.input))
    except Exception as exc:  # the user's tool failed: an error result, never a crash
        return f"The tool {script.function} raised {type(exc).__name__}: {exc}", True
    if isinstance(value, str):
        return value, False
    try:
        return json.dumps(value), False
    except (TypeError, ValueError) as exc:
        return f"The tool {script.function} returned a value that is not JSON: {exc}", True
