"""Scrubbing secrets out of text before it is stored, logged or printed.

A `Redactor` knows the run's API key. `scrub(text)` replaces with `[redacted]`:

- the key itself, and any run of 8 or more consecutive characters of it (a gateway that
  echoes part of the key, or a message that quotes it escaped or cut short);
- anything shaped like an Anthropic key (`sk-ant-` and what follows), whoever's it is.

Candidates are the runs of 8 or more characters drawn from the key's own alphabet (one regex
pass in C; ordinary text has few), and within them every 8-character window that is a piece of
the key starts a match, extended while it is still a piece of the key; overlapping pieces merge,
so the longest echoed piece is replaced as a whole. A Redactor with no key still applies the
shape rule.

Most text holds no piece of the key, and looking for candidates costs tens of microseconds per
answer; so first a cheaper test that every piece passes: any 8 consecutive characters of a
key contain one of its 4-character blocks starting at a multiple of 4, so text holding none
of those blocks (a substring search each, in C) holds no piece and skips the search.

`scrub_json(value)` scrubs a JSON value (a decoded answer) through its `json.dumps` text, so
a piece is found wherever the value holds it, keys included, and the value comes back
unchanged (the same object) when its text holds nothing to scrub.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import TypeVar

from runner import json_text

REDACTED = "[redacted]"
MIN_PIECE = 8
_BLOCK = MIN_PIECE // 2  # every MIN_PIECE-long piece holds an aligned block this long
_KEY_SHAPE = re.compile(r"sk-ant-[A-Za-z0-9_\-]*")
_SHAPE_START = "sk-ant-"  # every key-shaped match begins so: a substring test rules most out
Value = TypeVar("Value")


class Redactor:
    """Removes the given secrets (and anything key-shaped) from text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets = tuple(s for s in secrets if s)
        self._windows = frozenset(
            secret[i : i + MIN_PIECE]
            for secret in self._secrets
            for i in range(len(secret) - MIN_PIECE + 1)
        )
        self._blocks = tuple(
            {
                secret[j : j + _BLOCK]
                for secret in self._secrets
                if len(secret) >= MIN_PIECE
                for j in range(0, len(secret) - _BLOCK + 1, _BLOCK)
            }
        )
        alphabet = "".join(sorted({c for secret in self._secrets for c in secret}))
        self._runs = (
            re.compile(f"[{re.escape(alphabet)}]{{{MIN_PIECE},}}") if self._windows else None
        )

    def scrub(self, text: str) -> str:
        """`text` with every secret piece and key-shaped string replaced by [redacted]."""
        spans = self._pieces(text)
        if _SHAPE_START in text:
            spans += [m.span() for m in _KEY_SHAPE.finditer(text)]
        if not spans:
            return text
        out, last = [], 0
        for start, end in _merged(spans):
            out += [text[last:start], REDACTED]
            last = end
        out.append(text[last:])
        return "".join(out)

    def scrub_json(self, value: Value) -> Value:
        """`value` read back from its scrubbed `json.dumps` text; `value` itself when that
        text holds nothing to scrub."""
        text = _dumps(value)
        cleaned = self.scrub(text)
        return value if cleaned == text else json.loads(cleaned)

    def scrub_optional(self, text: str | None) -> str | None:
        """`scrub`, passing None through."""
        return None if text is None else self.scrub(text)

    def _pieces(self, text: str) -> list[tuple[int, int]]:
        if self._runs is None or not any(map(text.__contains__, self._blocks)):
            return []
        spans = []
        for run in self._runs.finditer(text):
            for start in range(run.start(), run.end() - MIN_PIECE + 1):
                if text[start : start + MIN_PIECE] in self._windows:
                    spans.append((start, self._extend(text, start, run.end())))
        return spans

    def _extend(self, text: str, start: int, limit: int) -> int:
        end = start + MIN_PIECE
        while end < limit and any(text[start : end + 1] in s for s in self._secrets):
            end += 1
        return end


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


_dumps = json_text.encoder(", ", ": ")  # `json.dumps` with its defaults
