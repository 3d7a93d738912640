"""Input token estimates: a request cut into ordered segments (tools, system, messages).

About four characters make a token, as for English text; images and PDFs get flat sizes.
Each segment keeps its `cache_control` TTL so prompt caching can find breakpoints; the order
(tools, then system, then messages) is the order the API caches prefixes in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from runner.emulator.request import MessageRequest, Obj

BASE_TOKENS = 7
PER_MESSAGE_TOKENS = 4
TOOLS_PREAMBLE_TOKENS = 150
IMAGE_TOKENS = 1_600
PDF_PAGE_TOKENS = 1_500


@dataclass(frozen=True)
class Segment:
    """One block of the prompt: its token count, its canonical text and its cache TTL."""

    tokens: int
    canonical: str
    cache_ttl: str | None


def text_tokens(text: str) -> int:
    """Tokens in a piece of text (at least one for non-empty text)."""
    return (len(text) + 3) // 4


def canonical(value: object) -> str:
    """JSON with sorted keys and no spaces: equal values give equal strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def block_tokens(block: Obj) -> int:
    """Tokens a content block costs as input."""
    kind = block.get("type")
    if kind == "text":
        return text_tokens(str(block.get("text", "")))
    if kind == "image":
        return IMAGE_TOKENS
    if kind == "document":
        return _document_tokens(block)
    if kind == "tool_result":
        content = block.get("content", "")
        if isinstance(content, list):
            return 4 + sum(block_tokens(b) for b in content if isinstance(b, dict))
        return 4 + text_tokens(str(content))
    if kind == "thinking":
        return text_tokens(str(block.get("thinking", "")))
    if kind == "compaction":
        return text_tokens(str(block.get("content") or ""))
    return text_tokens(canonical({k: v for k, v in block.items() if k != "cache_control"}))


def _document_tokens(block: Obj) -> int:
    source = block.get("source")
    if isinstance(source, dict) and source.get("type") == "text":
        return text_tokens(str(source.get("data", "")))
    data = str(source.get("data", "")) if isinstance(source, dict) else ""
    return max(PDF_PAGE_TOKENS, len(data) * 3 // 4 // 3_000 * PDF_PAGE_TOKENS)


def _ttl(block: Obj) -> str | None:
    control = block.get("cache_control")
    if not isinstance(control, dict):
        return None
    return str(control.get("ttl", "5m"))


def segments(request: MessageRequest) -> list[Segment]:
    """The prompt as ordered segments; a top-level `cache_control` marks the last one."""
    out = [_tool_segment(t) for t in request.tools]
    out += [Segment(block_tokens(b), canonical(b), _ttl(b)) for b in request.system]
    for turn in request.turns:
        head = canonical(turn.role)
        out += [Segment(block_tokens(b), head + canonical(b), _ttl(b)) for b in turn.blocks]
    top = request.body.get("cache_control")
    if isinstance(top, dict) and out:
        last = out[-1]
        out[-1] = Segment(last.tokens, last.canonical, str(top.get("ttl", "5m")))
    return out


def _tool_segment(tool: Obj) -> Segment:
    text = canonical(tool)
    return Segment(text_tokens(text), text, _ttl(tool))


def overhead(request: MessageRequest) -> int:
    """Tokens that are not in any block: framing per message, and the tool-use preamble."""
    tools = TOOLS_PREAMBLE_TOKENS if request.tools else 0
    return BASE_TOKENS + PER_MESSAGE_TOKENS * len(request.turns) + tools


def input_tokens(request: MessageRequest, segs: list[Segment]) -> int:
    """The request's whole input token count, given its `segments`."""
    return overhead(request) + sum(s.tokens for s in segs)
