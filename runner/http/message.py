"""What a Messages API response says, read into the values beta-runner records.

Also lists the response's observable signals (`evidence`): block types, stop reason, top-level
and usage fields beyond the plain baseline, so analysis can tell whether a beta left a trace.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runner import json_text
from runner.results.schema import MessageColumns

_PLAIN_TOP_LEVEL = frozenset(
    {"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"}
)
_PLAIN_USAGE = frozenset(
    {
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "service_tier",
        "inference_geo",
    }
)
_PLAIN_STOP_REASONS = frozenset({"end_turn", "max_tokens", "stop_sequence"})


BILLED = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


def billed_tokens(usage: dict[str, Any]) -> dict[str, int | None]:
    """The token counts a reply is billed for: summed over `usage.iterations` when it lists
    them (a compaction's own sampling is billed but left out of the top-level fields), else
    the top-level ones."""
    listed = usage.get("iterations")
    iterations = [i for i in listed if isinstance(i, dict)] if listed else None
    if iterations:
        return {name: _sum(_int(i.get(name)) for i in iterations) for name in BILLED}
    return {name: _int(usage.get(name)) for name in BILLED}


def _sum(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def misshapen(message: object) -> str | None:
    """What makes `message` unlike a Messages API message, or None when it has the shape the
    rows read: an object whose `content` is a list of blocks (objects; a text block's `text` a
    string, a tool_use block's `id` and `name` strings), `usage` an object if present, and
    `stop_reason` a string or null. A server answering otherwise (hostile, or not the API)
    must give an error row, not break the code that reads the answer."""
    if not isinstance(message, dict):
        return f"the answer is {_kind(message)}, not a message object"
    content = message.get("content")
    if not isinstance(content, list):
        return "it has no content list"
    for block in content:
        problem = _misshapen_block(block)
        if problem is not None:
            return problem
    if message.get("usage") is not None and not isinstance(message["usage"], dict):
        return f"its usage is {_kind(message['usage'])}, not an object"
    if message.get("stop_reason") is not None and not isinstance(message["stop_reason"], str):
        return f"its stop_reason is {_kind(message['stop_reason'])}, not a string"
    return None


_STRING_FIELDS = {"text": ("text",), "tool_use": ("id", "name")}


def _misshapen_block(block: object) -> str | None:
    if not isinstance(block, dict):
        return f"a content block is {_kind(block)}, not an object"
    kind = block.get("type")
    for field in _STRING_FIELDS.get(kind, ()) if isinstance(kind, str) else ():
        if not isinstance(block.get(field, ""), str):
            return f"a {kind} block's {field} is {_kind(block[field])}, not a string"
    return None


_JSON_KINDS = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "an array",
}


def _kind(value: object) -> str:
    return "null" if value is None else _JSON_KINDS.get(type(value), "an object")


def read_message(message: dict[str, Any]) -> MessageColumns:
    """Extract text, usage and evidence from a message dict (streamed or not): the result row's
    message columns."""
    content = message.get("content") or []
    usage = message.get("usage") or {}
    details = usage.get("output_tokens_details") or {}
    kinds = [b.get("type") for b in content]
    return MessageColumns(
        text="".join(b.get("text", "") for b in content if b.get("type") == "text"),
        stop_reason=message.get("stop_reason"),
        **billed_tokens(usage),
        thinking_tokens=_int(details.get("thinking_tokens")) if isinstance(details, dict) else None,
        content_types=list(map(str, kinds)),
        content_json=_compact(content),
        usage_json=_compact(usage),
        evidence=_evidence(message, kinds),
    )


# One encoder for every reply: `json.dumps` with any option builds a new one per call.
_compact = json_text.encoder(",", ":")


def evidence(message: dict[str, Any]) -> list[str]:
    """Signals beyond a plain text answer, e.g. `block:thinking`, `usage.speed=fast`."""
    return _evidence(message, [b.get("type") for b in message.get("content") or []])


def _evidence(message: dict[str, Any], kinds: list[Any]) -> list[str]:
    """`evidence`, given the type of each content block."""
    found = {f"block:{kind}" for kind in kinds if kind and kind != "text"}
    if "tool_use" in kinds and "thinking" in kinds[kinds.index("tool_use") :]:
        found.add(THINKING_AFTER_TOOL)
    stop = message.get("stop_reason")
    if stop and stop not in _PLAIN_STOP_REASONS:
        found.add(f"stop_reason:{stop}")
    if not _PLAIN_TOP_LEVEL.issuperset(message):  # one C pass; the usual message has none
        found.update(f"field:{k}" for k, v in message.items() if k not in _PLAIN_TOP_LEVEL and v)
    found.update(_usage_signals(message.get("usage") or {}))
    return sorted(found)


THINKING_AFTER_TOOL = "block:thinking_after_tool"
"""Thinking after a tool call: interleaved thinking's trace (a thinking block after a tool_use
block in one reply; in a conversation, also a reply to tool results that thinks)."""


def _usage_signals(usage: dict[str, Any]) -> set[str]:
    signals: set[str] = set()
    for key in usage.keys() - _PLAIN_USAGE:  # in any order: a set, sorted by the caller
        value = usage[key]
        if not value or value == "standard":
            continue
        if isinstance(value, dict):
            signals.update(f"usage.{key}.{k}" for k, v in value.items() if v)
        elif isinstance(value, str):
            signals.add(f"usage.{key}={value}")
        else:
            signals.add(f"usage.{key}")
    if usage.get("cache_read_input_tokens"):
        signals.add("usage.cache_read_input_tokens")
    return signals


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
