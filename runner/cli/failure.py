"""Turning an error into what the user reads: one line `error: <where>: <sentence>`.

Every refusal (a bad file, flag, variable or setting) and every click usage error goes through
`error_line`, so a script can grep one shape; control characters from user text are shown
escaped so that a newline in a flag value cannot split the line. With `--log-format json` the
same error is one JSON object on stderr instead, so the log stays JSON Lines.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from runner.clock import utc_now
from runner.errors import ThresholdsCrossed

_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)}
_CONTROL.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
_BREAKS = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}


def one_line(text: str) -> str:
    """`text` with control characters and Unicode line breaks shown escaped."""
    return text.translate(_CONTROL).translate(_BREAKS)


def click_message(exc: click.ClickException) -> str:
    """A click usage error as one sentence naming the command, with the help hint."""
    ctx = getattr(exc, "ctx", None)
    message = exc.format_message().rstrip(".") + "."
    if ctx is None:
        return message
    hint = f" See '{ctx.command_path} --help'."
    return f"{ctx.command_path}: {message}{hint}"


def error_line(message: str) -> str:
    """The text form: `error: ` and the message on one line."""
    return f"error: {one_line(message)}"


def error_json(message: str, exit_code: int, exc: BaseException | None = None) -> str:
    """The JSON Lines form of the same error (`threshold_report` lists crossed thresholds)."""
    record: dict[str, object] = {"ts": utc_now().isoformat(), "level": "error", "event": "error"}
    record["message"] = message
    record["exit_code"] = exit_code
    if isinstance(exc, ThresholdsCrossed):
        record["event"] = "thresholds_crossed"
        record["violations"] = list(exc.violations)
    return json.dumps(record)


def requested_log_format(argv: Sequence[str]) -> str:
    """The `--log-format` the command line asks for (the last one given), before parsing.

    Errors can happen before click has parsed anything, so the choice is read from the words.
    """
    chosen = "text"
    words = list(argv)
    for index, word in enumerate(words):
        if word == "--":
            break
        if word == "--log-format" and index + 1 < len(words):
            chosen = words[index + 1]
        elif word.startswith("--log-format="):
            chosen = word.partition("=")[2]
    return "json" if chosen == "json" else "text"
