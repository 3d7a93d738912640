"""Word-level differences between two texts, rendered as escaped HTML with <ins>/<del> spans.

Texts are split into words and the whitespace between them, so a diff never cuts a word and the
rendered text keeps its spacing. All text is HTML-escaped here; callers insert the result as is.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from html import escape
from typing import Literal

_TOKEN = re.compile(r"\s+|[^\s]+")

Kind = Literal["equal", "insert", "delete"]


@dataclass(frozen=True, slots=True)
class Span:
    """A run of text that is equal in both texts, only in the other text, or only in the base."""

    kind: Kind
    text: str


def tokenize(text: str) -> list[str]:
    """Words and whitespace runs, in order; joining them gives `text` back."""
    return _TOKEN.findall(text)


def word_diff(base: str, other: str) -> list[Span]:
    """The spans that turn `base` into `other`: a replacement is a delete then an insert."""
    a, b = tokenize(base), tokenize(other)
    spans: list[Span] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            spans.append(Span("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            spans.append(Span("delete", "".join(a[i1:i2])))
        if j2 > j1:
            spans.append(Span("insert", "".join(b[j1:j2])))
    return spans


def render_spans(spans: list[Span]) -> str:
    """Escaped HTML: inserted text in <ins>, deleted text in <del>, equal text bare."""
    parts = []
    for span in spans:
        text = escape(span.text)
        if span.kind == "insert":
            text = f"<ins>{text}</ins>"
        elif span.kind == "delete":
            text = f"<del>{text}</del>"
        parts.append(text)
    return "".join(parts)


def diff_html(base: str, other: str) -> str:
    """`other` marked up against `base`, as escaped HTML."""
    return render_spans(word_diff(base, other))


def changed_share(spans: list[Span]) -> float:
    """The share of characters (of both texts) that are inserted or deleted; 0.0 when identical."""
    total = sum(len(s.text) * (2 if s.kind == "equal" else 1) for s in spans)
    changed = sum(len(s.text) for s in spans if s.kind != "equal")
    return changed / total if total else 0.0
