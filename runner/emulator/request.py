"""Validate a Messages (or count_tokens) request body into a typed `MessageRequest`.

Error messages follow the API's style, `field.path: what is wrong`. Rules that depend on the
API version (the 2026-10-21 removals) are applied here; rules that depend on betas and model
limits live in `effects`.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import TypeGuard

from runner.emulator.catalog import ModelInfo, find_model
from runner.emulator.errors import invalid_request, not_found
from runner.emulator.headers import VERSION_2026

Obj = dict[str, object]

_SAMPLING = ("temperature", "top_p", "top_k")
_ROLES = ("user", "assistant", "system")
_THINKING = ("enabled", "adaptive", "disabled")
_TOOL_CHOICES = ("auto", "any", "tool", "none")
MIN_THINKING_BUDGET = 1024


@dataclass(frozen=True)
class Turn:
    """One message: its role and its content blocks (a string becomes one text block)."""

    role: str
    blocks: tuple[Obj, ...]


@dataclass(frozen=True)
class MessageRequest:
    """A validated request body, with the model resolved."""

    body: Obj
    model_name: str
    model: ModelInfo
    max_tokens: int
    turns: tuple[Turn, ...]
    system: tuple[Obj, ...]
    tools: tuple[Obj, ...]
    tool_choice: str
    tool_name: str | None
    parallel_tools: bool
    thinking: str
    thinking_budget: int
    thinking_omitted: bool
    stream: bool
    stop_sequences: tuple[str, ...]
    speed: str | None
    output_schema: Obj | None

    @property
    def continues_after_tool(self) -> bool:
        """Whether the last message hands back tool results (the turn continues)."""
        last = self.turns[-1]
        return last.role == "user" and any(b.get("type") == "tool_result" for b in last.blocks)

    def last_user_text(self) -> str:
        """The text of the last user message."""
        user = [t for t in self.turns if t.role == "user"]
        return " ".join(str(b.get("text", "")) for b in user[-1].blocks if b.get("type") == "text")

    def user_turn_text(self) -> str:
        """The text of the user's current turn: the last user message that is not only tool
        results (in a tool loop, the question the loop is answering)."""
        for turn in reversed(self.turns):
            texts = [str(b.get("text", "")) for b in turn.blocks if b.get("type") == "text"]
            if turn.role == "user" and texts:
                return " ".join(texts)
        return ""

    def tools_called_this_turn(self) -> list[str]:
        """Names of the tools called since the user's current turn began, in order."""
        names: list[str] = []
        for turn in reversed(self.turns):
            if turn.role == "user" and any(b.get("type") == "text" for b in turn.blocks):
                break
            calls = [b for b in turn.blocks if b.get("type") == "tool_use"]
            names[:0] = [str(b.get("name")) for b in calls]
        return names


def parse_request(body: object, version: str, *, count_only: bool = False) -> MessageRequest:
    """The typed request, or ApiError (400, or 404 for an unknown model)."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    _check_sampling(body, version)
    name, model = _model(body)
    turns = _turns(body, version)
    kind, budget, omitted = _thinking(body)
    tools = _objects(body, "tools")
    choice, tool_name = _tool_choice(body, tools)
    _check_tool_results(turns)
    return MessageRequest(
        body=body,
        model_name=name,
        model=model,
        max_tokens=0 if count_only else _max_tokens(body),
        turns=turns,
        system=_system(body),
        tools=tools,
        tool_choice=choice,
        tool_name=tool_name,
        parallel_tools=not _disable_parallel(body),
        thinking=kind,
        thinking_budget=budget,
        thinking_omitted=omitted,
        stream=_flag(body, "stream") and not count_only,
        stop_sequences=_strings(body, "stop_sequences"),
        speed=_speed(body),
        output_schema=_output_schema(body),
    )


def _check_sampling(body: Obj, version: str) -> None:
    for name in _SAMPLING:
        if name in body and version == VERSION_2026:
            raise invalid_request(f"{name}: Extra inputs are not permitted")
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None and not (_is_number(value) and 0.0 <= float(str(value)) <= 1.0):
            raise invalid_request(f"{name}: Input should be a number between 0 and 1")


def int_or(value: object, default: int) -> int:
    """`value` when it is an integer (a bool is not), else `default`."""
    return value if _is_int(value) else default


def number_or(value: object, default: float) -> float:
    """`value` when it is a number (a bool is not), else `default`."""
    return value if _is_number(value) else default


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _model(body: Obj) -> tuple[str, ModelInfo]:
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise invalid_request("model: Field required")
    model = find_model(name)
    if model is None:
        raise not_found(f"model: {name}")
    return name, model


def _max_tokens(body: Obj) -> int:
    value = body.get("max_tokens")
    if value is None:
        raise invalid_request("max_tokens: Field required")
    if not _is_int(value):
        raise invalid_request("max_tokens: Input should be a valid integer")
    if value < 1:
        raise invalid_request("max_tokens: Input should be greater than or equal to 1")
    return value


def _turns(body: Obj, version: str) -> tuple[Turn, ...]:
    raw = body.get("messages")
    if not isinstance(raw, list):
        raise invalid_request("messages: Field required")
    if not raw:
        raise invalid_request("messages: at least one message is required")
    turns = tuple(_turn(i, m, version) for i, m in enumerate(raw))
    if turns[0].role != "user":
        raise invalid_request('messages: first message must use the "user" role')
    return turns


def _turn(index: int, raw: object, version: str) -> Turn:
    where = f"messages.{index}"
    if not isinstance(raw, dict):
        raise invalid_request(f"{where}: Input should be an object")
    role = raw.get("role")
    if role not in _ROLES:
        raise invalid_request(f"{where}.role: Input should be 'user', 'assistant' or 'system'")
    blocks = _content(raw.get("content"), f"{where}.content")
    for j, block in enumerate(blocks):
        _check_block(block, str(role), f"{where}.content.{j}", version)
    return Turn(str(role), blocks)


def _content(raw: object, where: str) -> tuple[Obj, ...]:
    if isinstance(raw, str):
        return ({"type": "text", "text": raw},)
    if not isinstance(raw, list):
        raise invalid_request(f"{where}: Input should be a valid string or list of blocks")
    for j, block in enumerate(raw):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise invalid_request(f"{where}.{j}: Input should be a block with a 'type'")
        if block["type"] == "text" and not isinstance(block.get("text"), str):
            raise invalid_request(f"{where}.{j}.text: Field required")
    return tuple(raw)


def thinking_signature(text: str) -> str:
    """The signature the emulator gives a thinking block with this text (and checks on it)."""
    return base64.b64encode(hashlib.sha256(text.encode()).digest() * 2).decode()


def _check_block(block: Obj, role: str, where: str, version: str) -> None:
    """A thinking block handed back must be unchanged (its signature is its text's); the
    2026-10-21 version refuses some blocks in some roles."""
    text = block.get("thinking")
    shown = block.get("type") == "thinking" and isinstance(text, str) and text
    if shown and block.get("signature") != thinking_signature(str(text)):
        raise invalid_request(f"{where}: Invalid `signature` in `thinking` block")
    if version != VERSION_2026:
        return
    if role == "assistant" and block.get("type") == "document":
        raise invalid_request(f"{where}: document blocks are not permitted in assistant messages")
    if role == "user" and block.get("type") == "text" and block.get("citations"):
        raise invalid_request(f"{where}.citations: citations are not permitted in user messages")


def _system(body: Obj) -> tuple[Obj, ...]:
    raw = body.get("system")
    if raw is None:
        return ()
    blocks = _content(raw, "system")
    if any(b.get("type") != "text" for b in blocks):
        raise invalid_request("system: Input should be a string or a list of text blocks")
    return blocks


def _objects(body: Obj, name: str) -> tuple[Obj, ...]:
    raw = body.get(name)
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise invalid_request(f"{name}: Input should be a list of objects")
    for i, tool in enumerate(raw):
        if not isinstance(tool.get("name"), str):
            raise invalid_request(f"{name}.{i}.name: Field required")
        if tool.get("type", "custom") == "custom" and not isinstance(
            tool.get("input_schema"), dict
        ):
            raise invalid_request(f"{name}.{i}.input_schema: Field required")
    return tuple(raw)


def _tool_choice(body: Obj, tools: tuple[Obj, ...]) -> tuple[str, str | None]:
    raw = body.get("tool_choice")
    if raw is None:
        return "auto", None
    if not isinstance(raw, dict) or raw.get("type") not in _TOOL_CHOICES:
        raise invalid_request("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    if raw["type"] != "tool":
        return str(raw["type"]), None
    name = raw.get("name")
    if name not in {t.get("name") for t in tools}:
        raise invalid_request(f"tool_choice.name: no tool named {name!r} in tools")
    return "tool", str(name)


def _disable_parallel(body: Obj) -> bool:
    raw = body.get("tool_choice")
    return isinstance(raw, dict) and raw.get("disable_parallel_tool_use") is True


def _check_tool_results(turns: tuple[Turn, ...]) -> None:
    """Every tool_use of an assistant turn is answered in the next message, results first."""
    for index, turn in enumerate(turns[1:], start=1):
        before = turns[index - 1]
        asked = [str(b.get("id")) for b in before.blocks if b.get("type") == "tool_use"]
        if turn.role != "user":
            continue
        answered = _answered(turn, index, set(asked) if before.role == "assistant" else set())
        missing = [tool_id for tool_id in asked if tool_id not in answered]
        if before.role == "assistant" and missing:
            raise invalid_request(
                f"messages.{index - 1}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )


def _answered(turn: Turn, index: int, asked: set[str]) -> set[str]:
    answered: set[str] = set()
    seen_other = False
    for j, block in enumerate(turn.blocks):
        if block.get("type") != "tool_result":
            seen_other = True
            continue
        where = f"messages.{index}.content.{j}"
        tool_id = str(block.get("tool_use_id"))
        if tool_id not in asked:
            raise invalid_request(
                f"{where}: unexpected `tool_use_id` found in `tool_result` blocks: {tool_id}. "
                "Each `tool_result` block must have a corresponding `tool_use` block in the "
                "previous message."
            )
        if seen_other:
            raise invalid_request(
                f"{where}: `tool_result` blocks must come before any other content in a user "
                "message."
            )
        answered.add(tool_id)
    return answered


def _thinking(body: Obj) -> tuple[str, int, bool]:
    raw = body.get("thinking")
    if raw is None:
        return "disabled", 0, False
    if not isinstance(raw, dict) or raw.get("type") not in _THINKING:
        raise invalid_request("thinking.type: Input should be 'enabled', 'adaptive' or 'disabled'")
    omitted = raw.get("display") == "omitted"
    if raw["type"] != "enabled":
        return str(raw["type"]), 0, omitted
    budget = raw.get("budget_tokens")
    if not _is_int(budget) or budget < MIN_THINKING_BUDGET:
        raise invalid_request(
            f"thinking.budget_tokens: Input should be an integer >= {MIN_THINKING_BUDGET}"
        )
    return "enabled", budget, omitted


def _flag(body: Obj, name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise invalid_request(f"{name}: Input should be a valid boolean")
    return value


def _strings(body: Obj, name: str) -> tuple[str, ...]:
    raw = body.get(name)
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise invalid_request(f"{name}: Input should be a list of strings")
    return tuple(raw)


def _speed(body: Obj) -> str | None:
    value = body.get("speed")
    if value not in (None, "standard", "fast"):
        raise invalid_request("speed: Input should be 'standard' or 'fast'")
    return None if value is None else str(value)


def _output_schema(body: Obj) -> Obj | None:
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else body.get("output_format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise invalid_request("output_config.format.type: Input should be 'json_schema'")
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise invalid_request("output_config.format.schema: Field required")
    return schema
