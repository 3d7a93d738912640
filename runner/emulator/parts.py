"""The pieces a reply is made of: content parts, the whole completion, and the prose in them.

One output token is one space-separated piece of text, so lengths, truncation and usage agree.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

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
    """One content block: `kind` is its block type (thinking, text, tool_use, server_tool_use,
    web_search_tool_result, compaction); `text` is its text, or the JSON of its input/content."""

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


def text_part(text: str) -> Part:
    """A text block of `text`."""
    return Part("text", text, len(text.split(" ")) if text else 0)
