"""What a scorer sees (`ScoreInput`) and what a Python scorer may return (`Score`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import cast

from runner.config.types import Case, JSONObject


@dataclass(frozen=True)
class ToolCall:
    """One `tool_use` block of the answer: the tool's name and its input."""

    name: str
    arguments: JSONObject


@dataclass(frozen=True)
class ScoreInput:
    """One ok result as a scorer sees it: the case, the answer and where it came from."""

    case: Case
    text: str
    blocks: tuple[JSONObject, ...] = ()
    usage: JSONObject = field(default_factory=dict)
    stop_reason: str | None = None
    arm: str = ""
    model: str = ""
    repeat: int = 0

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The answer's tool calls, in order."""
        return tuple(
            ToolCall(str(b.get("name", "")), _object(b.get("input")))
            for b in self.blocks
            if b.get("type") == "tool_use"
        )

    @classmethod
    def from_columns(
        cls,
        case: Case,
        columns: ResultColumns,
    ) -> ScoreInput:
        """Built from a result's stored columns (content and usage as JSON text)."""
        blocks = json.loads(columns.content_json) if columns.content_json else []
        usage = json.loads(columns.usage_json) if columns.usage_json else {}
        return cls(
            case=case,
            text=columns.text or "",
            blocks=tuple(b for b in blocks if isinstance(b, dict)),
            usage=usage if isinstance(usage, dict) else {},
            stop_reason=columns.stop_reason,
            arm=columns.arm,
            model=columns.model,
            repeat=columns.repeat,
        )


@dataclass(frozen=True)
class ResultColumns:
    """The columns of a result row that scoring reads."""

    request_key: str
    arm: str
    model: str
    repeat: int
    text: str | None
    content_json: str | None
    usage_json: str | None
    stop_reason: str | None


@dataclass(frozen=True)
class Score:
    """A score: a value, whether it passed (None: no pass/fail), and why."""

    value: float
    passed: bool | None = None
    explanation: str | None = None

    @classmethod
    def check(cls, passed: bool, explanation: str | None = None) -> Score:
        """A pass/fail score: value 1 when passed, else 0."""
        return cls(1.0 if passed else 0.0, passed, explanation)


def _object(value: object) -> JSONObject:
    return cast(JSONObject, value) if isinstance(value, dict) else {}
