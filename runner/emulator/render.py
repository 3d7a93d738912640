"""The reply on the wire: the Message JSON, and the SSE events of a streamed reply.

Each streamed event carries `at`, the output tokens produced before it is due (None: send at
once), so the app can pace events with the latency model. Text arrives a few tokens per
`text_delta`, tool input (client or server tool) as `input_json_delta` chunks, thinking as
`thinking_delta` chunks and then one `signature_delta`; a web search result comes whole in its
`content_block_start`. A `ping` follows the first `content_block_start`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from runner.emulator.caching import CachePlan
from runner.emulator.parts import Completion, Part
from runner.emulator.request import MessageRequest, Obj

TOKENS_PER_DELTA = 3
JSON_DELTAS = 4
CALLS = ("tool_use", "server_tool_use")  # input streamed as input_json_delta pieces
WEB_SEARCH_RESULT = "web_search_tool_result"
WHOLE = (WEB_SEARCH_RESULT,)  # sent whole in content_block_start, with no delta
COMPACTION = "compaction"  # its summary comes whole in one compaction_delta


@dataclass(frozen=True)
class Event:
    """One SSE event and when it is due, in output tokens (None: at once)."""

    name: str
    data: Obj
    at: float | None


@dataclass(frozen=True)
class Accounting:
    """Input-side usage: tokens billed as plain input, the cache's part, and the service tier."""

    input_tokens: int
    cache: CachePlan
    service_tier: str = "standard"


def usage(request: MessageRequest, completion: Completion, account: Accounting) -> Obj:
    """The `usage` object of a finished reply."""
    out: Obj = {
        "input_tokens": account.input_tokens,
        "output_tokens": completion.output_tokens,
        "cache_creation_input_tokens": account.cache.created,
        "cache_read_input_tokens": account.cache.read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": account.cache.created_5m,
            "ephemeral_1h_input_tokens": account.cache.created_1h,
        },
        "service_tier": account.service_tier,
    }
    if request.thinking != "disabled":
        out["output_tokens_details"] = {"thinking_tokens": completion.thinking_tokens}
    if any(str(t.get("type", "")).startswith("web_search_") for t in request.tools):
        searches = sum(1 for p in completion.parts if p.kind == WEB_SEARCH_RESULT)
        out["server_tool_use"] = {"web_search_requests": searches, "web_fetch_requests": 0}
    if request.speed is not None:
        out["speed"] = request.speed
    return out


def block_json(part: Part) -> Obj:
    """A finished content block."""
    if part.kind == "thinking":
        return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    if part.kind in CALLS:
        return {"type": part.kind, "id": part.block_id, "name": part.name, "input": _input(part)}
    if part.kind == WEB_SEARCH_RESULT:
        return {"type": part.kind, "tool_use_id": part.block_id, "content": _input(part)}
    if part.kind == COMPACTION:
        return {"type": COMPACTION, "content": part.text}
    return {"type": "text", "text": part.text, "citations": None}


def _input(part: Part) -> object:
    return json.loads(part.text) if part.text else {}


def message_json(
    msg_id: str, request: MessageRequest, completion: Completion, usage_obj: Obj, extra: Obj
) -> Obj:
    """The whole Message object."""
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": request.model_name,
        "content": [block_json(p) for p in completion.parts],
        "stop_reason": completion.stop_reason,
        "stop_sequence": completion.stop_sequence,
        "usage": usage_obj,
        **extra,
    }


def _skeleton(part: Part) -> Obj:
    if part.kind == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    if part.kind in CALLS:
        return {"type": part.kind, "id": part.block_id, "name": part.name, "input": {}}
    if part.kind in WHOLE:
        return block_json(part)
    if part.kind == COMPACTION:
        return {"type": COMPACTION, "content": None}
    return {"type": "text", "text": ""}


def _chunks(part: Part) -> list[tuple[str, float]]:
    """The part's text in delta-sized chunks, each with the tokens it carries."""
    if part.kind in WHOLE:
        return []
    if part.kind == COMPACTION:
        return [(part.text, float(part.tokens))]
    if part.kind in CALLS:
        size = max(1, -(-len(part.text) // JSON_DELTAS))
        pieces = [part.text[i : i + size] for i in range(0, len(part.text), size)] or [""]
    else:
        tokens = part.pieces or [""]
        pieces = [
            "".join(tokens[i : i + TOKENS_PER_DELTA])
            for i in range(0, len(tokens), TOKENS_PER_DELTA)
        ]
    weight = part.tokens / len(pieces)
    return [(piece, weight) for piece in pieces]


def _delta(part: Part, piece: str, tokens: float, estimate: bool) -> Obj:
    if part.kind in CALLS:
        return {"type": "input_json_delta", "partial_json": piece}
    if part.kind == "text":
        return {"type": "text_delta", "text": piece}
    if part.kind == COMPACTION:
        return {"type": "compaction_delta", "content": piece}
    delta: Obj = {"type": "thinking_delta", "thinking": piece}
    if estimate:
        delta["estimated_tokens"] = round(tokens)
    return delta


def block_events(index: int, part: Part, start_at: float, estimate: bool) -> list[Event]:
    """start, deltas (and a signature for thinking) and stop for one content block."""
    events = [Event("content_block_start", _start(index, part), start_at)]
    at = start_at
    for piece, tokens in _chunks(part):
        delta = _delta(part, piece, tokens, estimate)
        events.append(Event("content_block_delta", _wrap(index, delta), at))
        at += tokens
    if part.kind == "thinking":
        signature: Obj = {"type": "signature_delta", "signature": part.signature}
        events.append(Event("content_block_delta", _wrap(index, signature), at))
    events.append(Event("content_block_stop", {"type": "content_block_stop", "index": index}, at))
    return events


def _start(index: int, part: Part) -> Obj:
    return {"type": "content_block_start", "index": index, "content_block": _skeleton(part)}


def _wrap(index: int, delta: Obj) -> Obj:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def start_message(msg_id: str, request: MessageRequest, final_usage: Obj) -> Obj:
    """The Message in `message_start`: no content yet, one output token so far."""
    first_usage = {k: v for k, v in final_usage.items() if k != "output_tokens_details"}
    first_usage["output_tokens"] = 1
    empty = Completion((), "", None)
    message = message_json(msg_id, request, empty, first_usage, {})
    return {**message, "stop_reason": None}


def stream_events(
    start: Obj,
    completion: Completion,
    final_usage: Obj,
    extra: Obj,
    *,
    estimate: bool,
    ping_every: int,
) -> list[Event]:
    """Every event of a streamed reply, in order; `extra` goes on the `message_delta`."""
    events = [Event("message_start", {"type": "message_start", "message": start}, None)]
    at = 0.0
    for index, part in enumerate(completion.parts):
        events += block_events(index, part, at, estimate)
        at += part.tokens
        if index == 0:
            events.insert(2, Event("ping", {"type": "ping"}, 0.0))
    delta = {"stop_reason": completion.stop_reason, "stop_sequence": completion.stop_sequence}
    tail = {"type": "message_delta", "delta": delta, "usage": _delta_usage(final_usage), **extra}
    events += [
        Event("message_delta", tail, at),
        Event("message_stop", {"type": "message_stop"}, at),
    ]
    return _with_pings(events, ping_every)


def _delta_usage(final_usage: Obj) -> Obj:
    keys = (
        "output_tokens",
        "input_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    )
    out = {k: final_usage[k] for k in keys}
    for optional in ("output_tokens_details", "server_tool_use", "iterations"):
        if optional in final_usage:
            out[optional] = final_usage[optional]
    return out


def _with_pings(events: list[Event], every: int) -> list[Event]:
    if every <= 0:
        return events
    out: list[Event] = []
    for n, event in enumerate(events, start=1):
        out.append(event)
        if n % every == 0 and event.name not in ("message_stop", "message_delta"):
            out.append(Event("ping", {"type": "ping"}, event.at))
    return out
