"""The one rule for text that becomes a directory name, a header or an identifier.

Such text is ASCII only, matched in full (`re.fullmatch`, `[0-9]` rather than `\\d`, so no
other script's digits and no newline before the end), and never `.`, `..` or empty, which
would collapse into or escape the parent directory. `name_problem` returns the reason as a
sentence, so every caller refuses the same way.
"""

from __future__ import annotations

import re

NAME_CHARS = "ASCII letters, digits, '.', '_' or '-'"
NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,128}")
ARM_NAME_RE = re.compile(r"[A-Za-z0-9._+-]{1,128}")
# A scorer's name becomes the metric `score.<name>`, so it has no '.' (nor '-').
SCORER_NAME_RE = re.compile(r"[A-Za-z0-9_]+")
_DOTS = ("", ".", "..")


def name_problem(value: str, what: str, pattern: re.Pattern[str] = NAME_RE) -> str | None:
    """Why `value` cannot be `what` (e.g. "--run-id"), or None when it can."""
    if value in _DOTS:
        shown = "empty" if not value else f"{value!r}"
        return f"{what} is {shown}, which names no directory of its own; give a real name."
    if not pattern.fullmatch(value):
        plus = " or '+'" if "+" in pattern.pattern else ""
        return f"{what} {value!r} must be 1 to 128 {NAME_CHARS}{plus}, and nothing else."
    return None


_HEADER_VALUE_RE = re.compile(r"[\t\x20-\x7e]*")


def header_value_problem(name: str, value: str) -> str | None:
    """Why `value` cannot be sent as header `name` (HTTP sends ASCII), or None."""
    if _HEADER_VALUE_RE.fullmatch(value):
        return None
    return (
        f"Header '{name}' must be one line of printable ASCII; its value has a control or "
        "non-ASCII character, which HTTP cannot send."
    )
