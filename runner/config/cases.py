"""An experiment's cases: inline `[[cases]]` tables and a JSON Lines `cases_file`, as `Case`s.

Both forms take the same fields: `id`, exactly one of `prompt`, `messages` or `turns`, an
optional `system`, the conversation fields of `runner.config.conversation` (`tools`,
`tool_results`, `max_turns`), and for scorers `expected` (any JSON value) and `metadata` (a
table). Errors in the cases file name that file and its line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import cast

from runner.config.conversation import (
    CONVERSATION_KEYS,
    merged_scripts,
    read_max_turns,
    read_tool_results,
    read_tools,
    read_turns,
)
from runner.config.files import json_lines
from runner.config.tables import Location, Table, as_json, key_path, shown
from runner.config.types import Case, JSONObject, JSONValue, ToolScript

CASE_KEYS = ("id", "prompt", "messages", "system", *CONVERSATION_KEYS, "expected", "metadata")
MESSAGE_KEYS = ("role", "content")
ROLES = ("user", "assistant")


def read_cases(root: Table, scripts: tuple[ToolScript, ...] = ()) -> tuple[Case, ...]:
    """Inline cases then cases-file cases, with ids unique across both; at least one.

    `scripts` are the experiment-wide tool results each case's own override by tool name.
    """
    cases: dict[str, Case] = {}
    for table, source in _case_tables(root):
        case = _case(table, source, root.loc.file.parent, scripts)
        if case.id in cases:
            raise table.fail(
                "id",
                f"Case id '{case.id}' is already used by the case at {cases[case.id].source}; "
                "give each case a unique id.",
            )
        cases[case.id] = case
    if not cases:
        raise root.loc.error(
            "cases", "The experiment has no cases; add [[cases]] tables or a cases_file."
        )
    return tuple(cases.values())


def _case_tables(root: Table) -> Iterator[tuple[Table, str]]:
    for table in root.tables("cases", CASE_KEYS):
        yield table, table.path
    if "cases_file" in root.data:
        written = root.required_text("cases_file")
        path = root.loc.file.parent / written
        empty = True
        for line, obj in _jsonl_objects(root, path):
            empty = False
            table = Table.read(Location(path, line), "", obj, CASE_KEYS)
            yield table, f"{written}:{line}"
        if empty:
            raise Location(path).error(
                "", "The cases file has no cases (no non-blank line); one JSON object a line."
            )


def _jsonl_objects(root: Table, path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    blame = root.fail("cases_file", f"The cases file '{root.data['cases_file']}' is unusable.")
    for number, line in json_lines(path, blame):
        yield number, _json_object(path, number, line)


def _json_object(path: Path, number: int, line: str) -> dict[str, object]:
    at = Location(path, number)
    try:
        value = json.loads(line, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_nan)
    except ValueError as exc:
        detail = (
            f"{exc.msg.removesuffix(' at')} at column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else exc
        )
        raise at.error("", f"The line is not valid JSON ({detail}); fix it.") from None
    if not isinstance(value, dict):
        raise at.error(
            "", f"Each line must be one JSON object, not {shown(value)}; wrap it in {{}}."
        )
    return cast("dict[str, object]", value)


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise ValueError(f"key '{key}' appears twice in one object")
    return dict(pairs)


def _no_nan(constant: str) -> object:
    raise ValueError(f"{constant} is not valid JSON")


def _case(table: Table, source: str, base: Path, defaults: tuple[ToolScript, ...]) -> Case:
    case = _read_case(table, source, base, defaults)
    _check_size(table, case)
    return case


# The Messages API refuses a larger request (413 request_too_large, from its front end).
MAX_REQUEST_BYTES = 32 * 1024 * 1024


def _check_size(table: Table, case: Case) -> None:
    """ConfigError when what the case sends (system, messages, tools, scripted turns) is over
    the API's request size: every request of it would be refused, after being uploaded."""
    sent = [case.system, list(case.messages), list(case.tools), list(case.follow_ups)]
    size = len(json.dumps(sent, ensure_ascii=False).encode())
    if size > MAX_REQUEST_BYTES:
        key = next((k for k in ("prompt", "messages", "turns") if k in table.data), "id")
        raise table.fail(
            key,
            f"Case '{case.id}' sends {size / 2**20:.0f} MiB of JSON; the Messages API refuses a "
            "request over 32 MB (413 request_too_large), so shorten it.",
        )


def _read_case(table: Table, source: str, base: Path, defaults: tuple[ToolScript, ...]) -> Case:
    follow_ups = read_turns(table)[1:] if "turns" in table.data else ()
    conversation = bool(defaults) or any(key in table.data for key in CONVERSATION_KEYS)
    return Case(
        id=_case_id(table),
        messages=_messages(table),
        system=_system(table),
        source=source,
        tools=read_tools(table),
        tool_results=merged_scripts(defaults, read_tool_results(table, base)),
        follow_ups=follow_ups,
        max_turns=read_max_turns(table, len(follow_ups), conversation),
        expected=as_json(table.loc, table.at("expected"), table.data.get("expected")),
        metadata=table.json_object("metadata"),
    )


# Control characters and line breaks: a case id is printed in tables and one-line logs, where
# an escape sequence would repaint the terminal and a newline would split the line.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _case_id(table: Table) -> str:
    value = table.required_text("id")
    found = _UNPRINTABLE.search(value)
    if found is not None:
        raise table.fail(
            "id",
            f"The case id {value!r} holds the control character {found.group()!r}; case ids "
            "are shown in tables and logs, so use printable text only.",
        )
    return value


def _messages(table: Table) -> tuple[JSONObject, ...]:
    given = [key for key in ("prompt", "messages", "turns") if key in table.data]
    if len(given) > 1:
        raise table.fail(
            given[1], f"Give one of prompt, messages or turns, not {' and '.join(given)}."
        )
    if "turns" in table.data:
        return ({"role": "user", "content": read_turns(table)[0]},)
    has_prompt, has_messages = "prompt" in table.data, "messages" in table.data
    if has_prompt:
        return ({"role": "user", "content": table.required_text("prompt")},)
    if not has_messages:
        raise table.loc.error(
            table.path,
            'The case has no prompt, messages or turns; add prompt = "..." (one user message), '
            "a messages list or a turns list.",
        )
    items = table.array("messages")
    if not items:
        raise table.fail("messages", "'messages' is empty; give at least one user message.")
    return tuple(_message(table, index, item) for index, item in enumerate(items))


def _message(table: Table, index: int, item: object) -> JSONObject:
    message = Table.read(table.loc, key_path(table.at("messages"), index), item, MESSAGE_KEYS)
    role = message.choice("role", "", ROLES)
    if index == 0 and role != "user":
        raise message.fail("role", f"The first message's role is '{role}'; it must be 'user'.")
    if "content" not in message.data:
        raise message.fail("content", "'content' is required; give a string or a block list.")
    content = _content(message, "content")
    return {"role": role, "content": content}


def _system(table: Table) -> JSONValue:
    return _content(table, "system") if "system" in table.data else None


def _content(table: Table, key: str) -> JSONValue:
    value = table.data[key]
    if isinstance(value, str):
        if not value.strip():
            raise table.fail(key, f"'{key}' is an empty string; give some text.")
        return value
    if not isinstance(value, list) or not value:
        raise table.wrong(key, "a non-empty string or a non-empty array of content blocks")
    for index, block in enumerate(value):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise table.loc.error(
                key_path(table.at(key), index),
                f"A content block must be a table with a string 'type', not {shown(block)}.",
            )
    return as_json(table.loc, table.at(key), value)
