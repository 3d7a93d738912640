"""The reply's content: thinking, text and tool calls, deterministic for a seed and a body.

Text is readable pseudo-random prose from a word list; its length grows with the prompt. One
output token is one space-separated piece of text, so lengths, truncation and usage agree.
The reply stops at `max_tokens` (or at the context window, with that beta), or at the first
stop sequence in the text.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from dataclasses import dataclass, replace

from runner.emulator.effects import Features
from runner.emulator.request import MessageRequest, Obj

_WORD_TEXT = """
the a model answer result value table signal test measure change feature request header latency
token stream cache window output input prompt reply system user data simple careful clear small
large fast slow early late first second third final quiet bright steady useful honest exact
river stone cloud forest garden bridge harbor lantern meadow orchard valley summit canyon island
read write send check count build find keep show give take make turn hold move bring carry
and or but so because while when then also still again often rarely always never perhaps
"""
WORDS = tuple(_WORD_TEXT.split())


@dataclass(frozen=True)
class Part:
    """One content block: `kind` is thinking, text or tool_use; `text` is its text or JSON."""

    kind: str
    text: str
    tokens: int
    name: str = ""
    block_id: str = ""
    signature: str = ""
    hidden: bool = False

    @property
    def pieces(self) -> list[str]:
        """The text cut into tokens (space-separated pieces, spaces kept)."""
        words = self.text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)] if self.text else []


@dataclass(frozen=True)
class Completion:
    """The generated reply and why it stopped."""

    parts: tuple[Part, ...]
    stop_reason: str
    stop_sequence: str | None

    @property
    def output_tokens(self) -> int:
        """All output tokens, thinking included."""
        return sum(p.tokens for p in self.parts)

    @property
    def thinking_tokens(self) -> int:
        """Output tokens spent thinking."""
        return sum(p.tokens for p in self.parts if p.kind == "thinking")


def prose(rng: random.Random, count: int) -> str:
    """`count` words of sentence-shaped text."""
    words: list[str] = []
    sentence = 0
    for _ in range(count):
        word = rng.choice(WORDS)
        words.append(word.capitalize() if sentence == 0 else word)
        sentence += 1
        if sentence >= 6 and rng.random() < 0.2:
            words[-1] += "."
            sentence = 0
    if words and not words[-1].endswith("."):
        words[-1] += "."
    return " ".join(words)


def _text_part(text: str) -> Part:
    return Part("text", text, len(text.split(" ")) if text else 0)


def render_schema(schema: object, rng: random.Random, depth: int = 0) -> object:
    """A trivial value matching a JSON schema: first enum value, a word, a small number."""
    if not isinstance(schema, dict) or depth > 6:
        return rng.choice(WORDS)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if kind == "object":
        props = schema.get("properties", {})
        items = props.items() if isinstance(props, dict) else []
        return {k: render_schema(v, rng, depth + 1) for k, v in items}
    if kind == "array":
        return [render_schema(schema.get("items"), rng, depth + 1)]
    simple: dict[object, object] = {
        "integer": rng.randint(1, 99),
        "number": rng.randint(1, 999) / 10,
    }
    simple.update({"boolean": rng.random() < 0.5, "null": None})
    return simple.get(kind, rng.choice(WORDS))


def _thinking(request: MessageRequest, features: Features, rng: random.Random) -> list[Part]:
    if request.thinking == "disabled":
        return []
    if request.continues_after_tool and not features.thinking_after_tool:
        return []
    count = 20 + rng.randrange(100)
    if request.thinking == "enabled":
        count = min(count, request.thinking_budget)
    text = prose(rng, count)
    signature = base64.b64encode(hashlib.sha256(text.encode()).digest() * 2).decode()
    shown = "" if request.thinking_omitted else text
    return [Part("thinking", shown, count, signature=signature, hidden=request.thinking_omitted)]


def _chosen_tool(request: MessageRequest, rng: random.Random) -> Obj | None:
    custom = [t for t in request.tools if isinstance(t.get("input_schema"), dict)]
    names = [str(t["name"]) for t in custom]
    pick = rng.random()
    if not custom or request.tool_choice == "none":
        return None
    if request.tool_choice == "tool":
        name = request.tool_name
    elif request.tool_choice == "any":
        name = names[int(pick * len(names))]
    elif request.continues_after_tool:
        return None
    else:
        mentioned = [n for n in names if n in request.last_user_text()]
        name = (
            mentioned[0]
            if mentioned
            else (names[int(pick * 2 * len(names))] if pick < 0.5 else None)
        )
    return next((t for t in custom if t["name"] == name), None)


def _tool_parts(tool: Obj, rng: random.Random) -> list[Part]:
    name = str(tool["name"])
    arguments = json.dumps(render_schema(tool["input_schema"], rng))
    tool_id = "toolu_" + hashlib.sha256(f"{rng.random()}".encode()).hexdigest()[:24]
    preamble = _text_part(f"I'll use the {name} tool to " + prose(rng, 4 + rng.randrange(6)))
    call = Part("tool_use", arguments, 12 + len(arguments.split(" ")), name=name, block_id=tool_id)
    return [preamble, call]


def _answer(request: MessageRequest, features: Features, rng: random.Random, prompt: int) -> Part:
    if request.output_schema is not None:
        return _text_part(json.dumps(render_schema(request.output_schema, rng)))
    count = 12 + rng.randrange(40) + min(prompt, 4000) // 40
    for effect in features.planted:
        count = effect.resize(count)
    return _text_part(prose(rng, count))


def compose(
    request: MessageRequest, features: Features, rng: random.Random, input_tokens: int
) -> Completion:
    """The reply for a request: content parts, then limits and stop sequences applied."""
    parts = _thinking(request, features, rng)
    tool = _chosen_tool(request, rng)
    parts += _tool_parts(tool, rng) if tool else [_answer(request, features, rng, input_tokens)]
    parts = _with_suffix(parts, features)
    parts, stop_sequence = _stop_at_sequence(parts, request.stop_sequences)
    limit = request.max_tokens
    if features.window_stop:
        limit = min(limit, features.context_window - input_tokens)
    kept, cut = _truncate(parts, limit)
    reason = "tool_use" if tool and not cut else "end_turn"
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
    parts[texts[-1]] = _text_part(f"{last.text} {suffix}" if last.text else suffix)
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
            return [*parts[:index], _text_part(part.text[:at].rstrip(" "))], sequence
    return parts, None


def _truncate(parts: list[Part], limit: int) -> tuple[list[Part], bool]:
    kept: list[Part] = []
    left = max(0, limit)
    for part in parts:
        if part.tokens <= left:
            kept.append(part)
            left -= part.tokens
            continue
        if part.kind != "tool_use" and left > 0:
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
