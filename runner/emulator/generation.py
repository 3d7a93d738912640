"""The reply's content: thinking, text and tool calls, deterministic for a seed and a body.

Text is readable pseudo-random prose from a word list; its length grows with the prompt. One
output token is one space-separated piece of text, so lengths, truncation and usage agree.
The reply stops at `max_tokens` (or at the context window, with that beta), or at the first
stop sequence in the text. Given tools, a reply may call one or two of them (`_chosen_tools`
says when) with input valid for each tool's schema; after the tool results come back it calls
more or answers in text, so a client's tool loop runs several turns and then ends. A web search
tool is run server-side first, and a turn with too many searches pauses (`server_tools`).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Sequence
from dataclasses import replace

from runner.emulator.answers import answer, is_judge_prompt, judge_reply, known_answer
from runner.emulator.effects import Features
from runner.emulator.parts import WORDS, Completion, Part, prose, text_part
from runner.emulator.request import MessageRequest, Obj, number_or, thinking_signature
from runner.emulator.server_tools import continues_paused_turn, search_parts, searches_left

MAX_TOOL_STEPS = 6
SERVER_LOOP_ITERATIONS = 10
CALLS = ("tool_use", "server_tool_use")  # blocks never cut short: a call is whole or absent


def render_schema(
    schema: object, rng: random.Random, depth: int = 0, words: Sequence[str] = ()
) -> object:
    """A value valid for a JSON schema: the first enum value, every property, a number within
    its bounds, and for strings a word of `words` (the user's text; for a field named like an
    id or a number, a word with a digit) or of the word list."""
    if not isinstance(schema, dict) or depth > 6:
        return _word(rng, words)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if kind == "object":
        props = schema.get("properties", {})
        items = props.items() if isinstance(props, dict) else []
        return {k: render_schema(v, rng, depth + 1, _fitting(k, words)) for k, v in items}
    if kind == "array":
        return [render_schema(schema.get("items"), rng, depth + 1, words)]
    if kind in ("integer", "number"):
        return _number(schema, rng, kind == "integer")
    simple: dict[object, object] = {"boolean": rng.random() < 0.5, "null": None}
    return simple.get(kind, _word(rng, words))


def _fitting(name: str, words: Sequence[str]) -> Sequence[str]:
    """For an id or number field, the words with a digit in them (when there are any)."""
    if not any(part in name.lower() for part in ("id", "number", "code")):
        return words
    numbered = [w for w in words if any(c.isdigit() for c in w)]
    return numbered or words


def _word(rng: random.Random, words: Sequence[str]) -> str:
    usable = [w for w in words if len(w) >= 3]
    return rng.choice(usable) if usable else rng.choice(WORDS)


def _number(schema: Obj, rng: random.Random, integer: bool) -> int | float:
    low = number_or(schema.get("minimum", 1), 1)
    high = max(number_or(schema.get("maximum", 99), low + 98), low)
    value = rng.randint(math.ceil(low), max(math.ceil(low), math.floor(high)))
    return value if integer else float(value)


def _thinking(request: MessageRequest, features: Features, rng: random.Random) -> list[Part]:
    if request.thinking == "disabled":
        return []
    if request.continues_after_tool and not features.thinking_after_tool:
        return []
    count = 20 + rng.randrange(100)
    if request.thinking == "enabled":
        count = min(count, request.thinking_budget)
    text = prose(rng, count)
    signature = thinking_signature(text)
    shown = "" if request.thinking_omitted else text
    return [Part("thinking", shown, count, signature=signature, hidden=request.thinking_omitted)]


def _chosen_tools(request: MessageRequest, rng: random.Random) -> list[Obj]:
    """The tools this reply calls (none: it answers in text).

    `tool` and `any` call one (or, `any` with parallel calls allowed, sometimes two) every time,
    as forced tool use does. `auto` first calls, in order, the tools the user's turn mentions
    (by name, or by a word of the name of at least four letters), two at once when parallel
    calls are allowed and a coin says so; then it goes on with a random tool with falling
    odds, `MAX_TOOL_STEPS` calls at most per user turn. A plain question without a mention
    gets a tool call half the time.
    """
    custom = [t for t in request.tools if isinstance(t.get("input_schema"), dict)]
    pick, pair = rng.random(), rng.random() < 0.5 and request.parallel_tools
    if not custom or request.tool_choice == "none":
        return []
    if request.tool_choice == "tool":
        return [t for t in custom if t["name"] == request.tool_name]
    if request.tool_choice == "any":
        first = custom[int(pick * len(custom))]
        return [first, custom[(custom.index(first) + 1) % len(custom)]] if pair else [first]
    called = request.tools_called_this_turn()
    wanted = [t for t in custom if _mentioned(t, request.user_turn_text())]
    left = [t for t in wanted if t["name"] not in called]
    if left:
        return left[:2] if pair else left[:1]
    odds = 0.5 if not called else 0.55 ** len(called)
    if len(called) >= MAX_TOOL_STEPS or pick >= odds:
        return []
    return [custom[int(pick / odds * len(custom)) % len(custom)]]


def _mentioned(tool: Obj, text: str) -> bool:
    name = str(tool["name"])
    lowered = text.lower()
    words = [w for w in name.lower().replace("-", "_").split("_") if len(w) >= 4]
    return name.lower() in lowered or any(w in lowered for w in words)


def _tool_parts(tools: list[Obj], request: MessageRequest, rng: random.Random) -> list[Part]:
    names = " and ".join(str(t["name"]) for t in tools)
    preamble = text_part(f"I'll use {names} to " + prose(rng, 4 + rng.randrange(6)))
    return [preamble, *(_call(tool, request, rng) for tool in tools)]


def _call(tool: Obj, request: MessageRequest, rng: random.Random) -> Part:
    words = [w.strip(".,;:!?'\"()") for w in request.user_turn_text().split()]
    arguments = json.dumps(render_schema(tool["input_schema"], rng, words=words))
    tool_id = "toolu_" + hashlib.sha256(f"{rng.random()}".encode()).hexdigest()[:24]
    tokens = 12 + len(arguments.split(" "))
    return Part("tool_use", arguments, tokens, name=str(tool["name"]), block_id=tool_id)


def _answer(request: MessageRequest, features: Features, rng: random.Random, prompt: int) -> Part:
    if request.output_schema is not None:
        return text_part(json.dumps(render_schema(request.output_schema, rng)))
    asked = request.last_user_text()
    if is_judge_prompt(asked):
        return text_part(judge_reply(asked, rng))
    known = known_answer(asked)
    if known is not None:
        return text_part(answer(known, features.p_correct, rng))
    count = 12 + rng.randrange(40) + min(prompt, 4000) // 40
    for effect in features.planted:
        count = effect.resize(count)
    return text_part(prose(rng, count))


def compose(
    request: MessageRequest,
    features: Features,
    rng: random.Random,
    input_tokens: int,
    *,
    iterations: int = SERVER_LOOP_ITERATIONS,
) -> Completion:
    """The reply for a request: content parts, then limits and stop sequences applied; a turn
    with more server tool calls left than `iterations` pauses (see `server_tools`)."""
    parts = [] if continues_paused_turn(request) else _thinking(request, features, rng)
    left = searches_left(request)
    now = min(left, max(1, iterations))
    parts += search_parts(request, rng, now)
    paused = left > now
    tools = [] if paused else _chosen_tools(request, rng)
    if not paused:
        parts += (
            _tool_parts(tools, request, rng)
            if tools
            else [_answer(request, features, rng, input_tokens)]
        )
    parts = _with_suffix(parts, features)
    parts, stop_sequence = _stop_at_sequence(parts, request.stop_sequences)
    limit = request.max_tokens
    if features.window_stop:
        limit = min(limit, features.context_window - input_tokens)
    kept, cut = _truncate(parts, limit)
    reason = "pause_turn" if paused else "tool_use" if tools else "end_turn"
    if stop_sequence is not None:
        reason = "stop_sequence"
    if cut:
        reason = "max_tokens" if limit == request.max_tokens else "model_context_window_exceeded"
    return Completion(tuple(_scaled(kept, features)), reason, None if cut else stop_sequence)


def _with_suffix(parts: list[Part], features: Features) -> list[Part]:
    suffix = " ".join(e.text_suffix for e in features.planted if e.text_suffix)
    texts = [i for i, p in enumerate(parts) if p.kind == "text"]
    if not suffix or not texts:
        return parts
    last = parts[texts[-1]]
    parts[texts[-1]] = text_part(f"{last.text} {suffix}" if last.text else suffix)
    return parts


def _stop_at_sequence(
    parts: list[Part], sequences: tuple[str, ...]
) -> tuple[list[Part], str | None]:
    for index, part in enumerate(parts):
        if part.kind != "text":
            continue
        hits = [(part.text.find(s), s) for s in sequences if s and s in part.text]
        if hits:
            at, sequence = min(hits)
            return [*parts[:index], text_part(part.text[:at].rstrip(" "))], sequence
    return parts, None


def _truncate(parts: list[Part], limit: int) -> tuple[list[Part], bool]:
    kept: list[Part] = []
    left = max(0, limit)
    for part in parts:
        if part.tokens <= left:
            kept.append(part)
            left -= part.tokens
            continue
        if part.kind not in CALLS and left > 0:
            text = "".join(part.pieces[:left]) if part.text else ""
            kept.append(replace(part, text=text, tokens=left))
        return kept, True
    return kept, False


def _scaled(parts: list[Part], features: Features) -> list[Part]:
    factor = features.tool_token_factor
    if factor == 1.0 or not any(p.kind == "tool_use" for p in parts):
        return parts
    return [
        p if p.kind == "thinking" else replace(p, tokens=max(1, round(p.tokens * factor)))
        for p in parts
    ]
