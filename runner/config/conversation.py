"""A case's conversation fields: `tools`, `tool_results`, `turns` and `max_turns`.

`tool_results` maps a tool name to what the tool returns: a string (every call), an array of
strings (used call by call), or `{ function = "module:callable" }`, a Python callable found
next to the experiment file (`module` may be dotted: `tools.support` is `tools/support.py`),
or else on the import path. It is imported once, here, so a missing module or callable is a
ConfigError naming the key. An experiment-wide `[tool_results]` table gives the defaults a case
overrides tool by tool. A case that sets any of these fields is a conversation: at most
`max_turns` requests (default `DEFAULT_MAX_TURNS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

from runner.config.callables import resolve_callable
from runner.config.tables import Table, as_json, key_path, shown
from runner.config.types import Arm, Case, JSONObject, ToolFunction, ToolScript

CONVERSATION_KEYS = ("tools", "tool_results", "turns", "max_turns")
SCRIPT_KEYS = ("function",)
DEFAULT_MAX_TURNS = 10
MAX_TURNS = 100


def read_tools(table: Table) -> tuple[JSONObject, ...]:
    """The `tools` array of tool tables, each with a name (and an input_schema, if custom)."""
    if "tools" not in table.data:
        return ()
    tools = []
    for index, item in enumerate(table.array("tools")):
        path = key_path(table.at("tools"), index)
        if not isinstance(item, dict):
            raise table.loc.error(path, f"A tool must be a table, not {shown(item)}.")
        tool = cast("JSONObject", as_json(table.loc, path, item))
        where = Table(table.loc, path, tool)
        if not isinstance(tool.get("name"), str) or not str(tool.get("name")).strip():
            raise where.fail("name", 'A tool needs a name; add name = "...".')
        custom = tool.get("type", "custom") == "custom"
        if custom and not isinstance(tool.get("input_schema"), dict):
            raise where.fail(
                "input_schema", "A client tool needs an input_schema table (a JSON schema)."
            )
        tools.append(tool)
    return tuple(tools)


def read_tool_results(table: Table, base: Path) -> tuple[ToolScript, ...]:
    """The `tool_results` table as scripts, in the order written."""
    if "tool_results" not in table.data:
        return ()
    results = table.data["tool_results"]
    if not isinstance(results, dict):
        raise table.wrong("tool_results", "a table of tool name = result")
    inner = Table(table.loc, table.at("tool_results"), results)
    return tuple(_script(inner, str(name), base) for name in results)


def merged_scripts(
    defaults: Sequence[ToolScript], own: Sequence[ToolScript]
) -> tuple[ToolScript, ...]:
    """The experiment's default scripts with the case's own replacing them by tool name."""
    names = {script.name for script in own}
    return (*(s for s in defaults if s.name not in names), *own)


def read_max_turns(table: Table, follow_ups: int, conversation: bool) -> int:
    """`max_turns`: at least one request per scripted user turn; 1 for a plain case."""
    default = DEFAULT_MAX_TURNS if conversation else 1
    turns = table.integer("max_turns", default, 1, MAX_TURNS)
    if turns < follow_ups + 1:
        raise table.fail(
            "max_turns",
            f"max_turns is {turns}, but the case scripts {follow_ups + 1} user turns and each "
            f"takes at least one request; raise it to at least {follow_ups + 1}.",
        )
    return turns


def read_turns(table: Table) -> tuple[str, ...]:
    """The scripted user turns (`turns`), each a non-empty string; at least one."""
    turns = table.strings("turns")
    if not turns:
        raise table.fail("turns", "'turns' is empty; give the user messages in order.")
    return tuple(turns)


def _script(table: Table, name: str, base: Path) -> ToolScript:
    value = table.data[name]
    if isinstance(value, str):
        return ToolScript(name, replies=(value,))
    if isinstance(value, list):
        replies = table.strings(name)
        if not replies:
            raise table.fail(name, f"The results of '{name}' are an empty array; give one or more.")
        return ToolScript(name, replies=tuple(replies))
    if isinstance(value, dict):
        spec = Table.read(table.loc, table.at(name), value, SCRIPT_KEYS).required_text("function")
        where = Table(table.loc, table.at(name), value)
        return ToolScript(name, function=spec, call=_resolve(where, spec, base))
    raise table.fail(
        name,
        f"The result of tool '{name}' is {shown(value)}; give a string, an array of strings "
        '(one per call) or { function = "module:callable" }.',
    )


def _resolve(table: Table, spec: str, base: Path) -> ToolFunction:
    function: ToolFunction = resolve_callable(table, "function", spec, base).call
    return function


def script_warnings(cases: Sequence[Case], request: JSONObject, arms: Sequence[Arm]) -> list[str]:
    """Warnings for scripted results of tools that no arm or case offers the model."""
    offered = {
        str(tool.get("name"))
        for body in (request, *(arm.request for arm in arms))
        for tool in _tool_list(body.get("tools"))
    }
    return [
        f"case '{case.id}' ({case.source}): tool_results scripts '{script.name}', but no tools "
        "list offers a tool of that name; the model cannot call it."
        for case in cases
        for script in case.tool_results
        if script.name not in offered | {str(t.get("name")) for t in case.tools}
    ]


def _tool_list(value: object) -> list[JSONObject]:
    return [t for t in value if isinstance(t, dict)] if isinstance(value, list) else []
