"""Context editing (beta `context-management-2025-06-27`): what a request's clearing edits take
out of the prompt the model sees, and how they are reported.

The client always sends the whole history; the server applies the edits to each request anew.
An edit whose trigger is not reached does nothing. Reached, it clears as follows:

| edit and field | meaning (default) |
| --- | --- |
| `clear_tool_uses_20250919` | clears old tool results (their content becomes a placeholder; |
| | a result no longer than the placeholder is left) |
| `trigger` | `{"type": "input_tokens", "value": N}` (100,000) or `{"type": "tool_uses", ...}`: |
| | the prompt's input tokens, or its tool uses, reach N |
| `keep` | `{"type": "tool_uses", "value": K}` (3): the K most recent tool uses stay whole |
| `exclude_tools` | names of tools whose uses are never cleared |
| `clear_tool_inputs` | `true`: a cleared use's `input` becomes `{}` too; a list: only for those |
| | tools; `false`/absent: inputs stay |
| `clear_at_least` | `{"type": "input_tokens", "value": M}`: when clearing would remove fewer |
| | than M tokens nothing is cleared, so the cached prefix is not broken for little |
| `clear_thinking_20251015` | drops the thinking blocks of all but the `keep` (1) latest thinking |
| | turns (`keep` may be `"all"`) |

Each edit that cleared something is reported as the API does, in
`context_management.applied_edits`: its `type`, `cleared_tool_uses` (or
`cleared_thinking_turns`) and `cleared_input_tokens`, the input tokens the prompt lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from runner.emulator.request import MessageRequest, Obj, Turn, int_or
from runner.emulator.tokens import block_tokens

CLEARED = "[cleared by context management]"
CLEAR_TOOL_USES = "clear_tool_uses_20250919"
CLEAR_THINKING = "clear_thinking_20251015"
DEFAULT_TRIGGER = 100_000

# A block's replacement: None drops it from the prompt.
Changes = dict[int, Obj | None]


@dataclass(frozen=True)
class Edits:
    """The context edits that fired: as `applied_edits`, the input tokens they cleared, and the
    prompt as the model then sees it (cleared tool results hold a placeholder, cleared thinking
    blocks are gone), which is also what the prompt cache matches: a clear changes the prefix
    after the first cleared block, as the API's does."""

    applied: list[Obj]
    cleared_tokens: int
    request: MessageRequest


def apply_edits(request: MessageRequest, edits: tuple[Obj, ...], input_tokens: int) -> Edits:
    """The clearing edits among `edits` that fire for `request`, applied in order."""
    applied: list[Obj] = []
    cleared = 0
    for edit in edits:
        if not _triggered(request, edit, input_tokens - cleared):
            continue
        changes, count_name, count = _changes(request, edit)
        tokens = _cleared_tokens(request, changes)
        if not changes or tokens < setting_value(edit.get("clear_at_least"), 0):
            continue
        applied.append({"type": edit["type"], count_name: count, "cleared_input_tokens": tokens})
        cleared += tokens
        request = _changed(request, changes)
    return Edits(applied, cleared, request)


def setting_value(setting: object, default: int) -> int:
    """The `value` of a `{"type": ..., "value": N}` setting."""
    return int_or(setting.get("value") if isinstance(setting, dict) else None, default)


def _triggered(request: MessageRequest, edit: Obj, input_tokens: int) -> bool:
    if edit.get("type") not in (CLEAR_TOOL_USES, CLEAR_THINKING):
        return False
    trigger = edit.get("trigger")
    if isinstance(trigger, dict) and trigger.get("type") == "tool_uses":
        return len(list(_tool_uses(request))) >= setting_value(trigger, 0)
    return input_tokens >= setting_value(trigger, DEFAULT_TRIGGER)


def _tool_uses(request: MessageRequest) -> Iterator[Obj]:
    return (b for t in request.turns for b in t.blocks if b.get("type") == "tool_use")


def _changes(request: MessageRequest, edit: Obj) -> tuple[Changes, str, int]:
    """The blocks an edit changes, the name of its count in `applied_edits`, and the count."""
    if edit["type"] == CLEAR_TOOL_USES:
        changes = _clear_tool_uses(request, edit)
        results = sum(1 for new in changes.values() if new and new.get("type") == "tool_result")
        return changes, "cleared_tool_uses", results
    turns = _old_thinking_turns(request, edit)
    changes = {id(b): None for t in turns for b in t.blocks if b.get("type") == "thinking"}
    return changes, "cleared_thinking_turns", len(turns)


def _clear_tool_uses(request: MessageRequest, edit: Obj) -> Changes:
    """Results (and, if asked, inputs) of the tool uses before the last `keep`, but those of
    excluded tools; only uses whose result is in the prompt count."""
    results = {
        str(b.get("tool_use_id")): b
        for t in request.turns
        for b in t.blocks
        if b.get("type") == "tool_result"
    }
    uses = [u for u in _tool_uses(request) if str(u.get("id")) in results]
    excluded = _names(edit.get("exclude_tools"))
    inputs = edit.get("clear_tool_inputs")
    inputs_of = _names(inputs) if isinstance(inputs, list) else None
    changes: Changes = {}
    for use in uses[: max(0, len(uses) - setting_value(edit.get("keep"), 3))]:
        name = str(use.get("name"))
        if name in excluded:
            continue
        result = results[str(use.get("id"))]
        placeholder = {**result, "content": CLEARED}
        if block_tokens(result) > block_tokens(placeholder):
            changes[id(result)] = placeholder
        if (inputs is True or (inputs_of is not None and name in inputs_of)) and use.get("input"):
            changes[id(use)] = {**use, "input": {}}
    return changes


def _names(value: object) -> frozenset[str]:
    return frozenset(str(v) for v in value) if isinstance(value, list) else frozenset()


def _old_thinking_turns(request: MessageRequest, edit: Obj) -> list[Turn]:
    """The assistant turns with thinking before the last `keep` of them."""
    turns = [t for t in request.turns if any(b.get("type") == "thinking" for b in t.blocks)]
    keep = edit.get("keep")
    kept = len(turns) if keep == "all" else setting_value(keep, 1)
    return turns[: max(0, len(turns) - kept)]


def _cleared_tokens(request: MessageRequest, changes: Changes) -> int:
    before = after = 0
    for turn in request.turns:
        for block in turn.blocks:
            if id(block) in changes:
                new = changes[id(block)]
                before += block_tokens(block)
                after += block_tokens(new) if new is not None else 0
    return before - after


def _changed(request: MessageRequest, changes: Changes) -> MessageRequest:
    return replace(request, turns=tuple(_changed_turn(t, changes) for t in request.turns))


def _changed_turn(turn: Turn, changes: Changes) -> Turn:
    blocks = []
    for block in turn.blocks:
        new = changes.get(id(block), block)
        if new is not None:
            blocks.append(new)
    return replace(turn, blocks=tuple(blocks))
