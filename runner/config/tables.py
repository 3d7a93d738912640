"""Typed reads from one parsed TOML table or JSON object, failing with the exact key path.

Every failed check raises `ConfigError(file, where, problem)`: `where` is the key path
(`arms[2].betas[0]`), prefixed by the line for JSON Lines (`line 7, messages[0].role`).
Unknown keys are rejected with the closest known key suggested.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TypeGuard, cast

from runner.config.types import JSONObject, JSONValue
from runner.errors import ConfigError

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def key_path(parent: str, key: str | int) -> str:
    """`parent` extended by a table key (quoted when not bare) or an array index."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    part = key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)
    return f"{parent}.{part}" if parent else part


def shown(value: object) -> str:
    """A value as the user wrote it, with its kind, for error messages."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    kinds = {int: "the integer", float: "the float", str: "the string", list: "an array"}
    for kind, label in kinds.items():
        if isinstance(value, kind):
            return f"{label} {value!r}" if kind is not list else label
    if isinstance(value, dict):
        return "a table"
    return f"the date/time {value}" if isinstance(value, date | time) else "null"


def closest(key: str, known: Collection[str]) -> str:
    """' Did you mean ...?' for the closest known key, or ''."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


@dataclass(frozen=True)
class Location:
    """The file being read and, for JSON Lines, the 1-based line."""

    file: Path
    line: int | None = None

    def error(self, path: str, problem: str) -> ConfigError:
        """A ConfigError at `path` within this location."""
        where = ", ".join(part for part in (self.line_label, path) if part)
        return ConfigError(self.file, where, problem)

    @property
    def line_label(self) -> str:
        """'line N' for JSON Lines, '' for TOML."""
        return f"line {self.line}" if self.line is not None else ""


@dataclass(frozen=True)
class Table:
    """One table with its location and key path; typed getters raise ConfigError."""

    loc: Location
    path: str
    data: Mapping[str, object]

    @classmethod
    def read(cls, loc: Location, path: str, value: object, known: Collection[str]) -> Table:
        """Check `value` is a table with only `known` keys."""
        if not isinstance(value, dict):
            name = path or "the file"
            raise loc.error(path, f"{name} must be a table, not {shown(value)}.")
        for key in value:
            if key not in known:
                allowed = ", ".join(sorted(known)) or "none"
                raise loc.error(
                    key_path(path, key),
                    f"Unknown key '{key}'.{closest(key, known)} Known keys here: {allowed}.",
                )
        return cls(loc, path, cast("dict[str, object]", value))

    def at(self, key: str | int) -> str:
        """The key path of `key` in this table."""
        return key_path(self.path, key)

    def fail(self, key: str | int, problem: str) -> ConfigError:
        """A ConfigError at `key` in this table."""
        return self.loc.error(self.at(key), problem)

    def wrong(self, key: str, expected: str) -> ConfigError:
        """A ConfigError saying `key` holds the wrong kind of value."""
        if key not in self.data:
            return self.fail(key, f"'{key}' is required here; it must be {expected}.")
        return self.fail(key, f"'{key}' is {shown(self.data[key])}, but it must be {expected}.")

    def text(self, key: str, default: str, pattern: re.Pattern[str] | None = None) -> str:
        """A string; with `pattern`, it must match it in full."""
        value = self.data.get(key, default)
        if not isinstance(value, str) or (pattern is not None and not pattern.fullmatch(value)):
            rule = f"a string matching {pattern.pattern}" if pattern else "a string"
            raise self.wrong(key, rule)
        return value

    def required_text(self, key: str, pattern: re.Pattern[str] | None = None) -> str:
        """A string that must be present and non-empty."""
        if key not in self.data:
            raise self.fail(key, f"'{key}' is required here; add {key} = \"...\".")
        value = self.text(key, "", pattern)
        if not value.strip():
            raise self.fail(key, f"'{key}' is empty; give it a value.")
        return value

    def integer(self, key: str, default: int, low: int, high: int | None = None) -> int:
        """An integer (never a boolean) within [low, high]."""
        value = self.data.get(key, default)
        if type(value) is not int or value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise self.wrong(key, f"an integer {bounds}")
        return value

    def optional_integer(self, key: str, low: int, high: int | None = None) -> int | None:
        """Like `integer`, or None when absent."""
        return self.integer(key, low, low, high) if key in self.data else None

    def number(self, key: str, default: float, low: float = 0.0, *, strict: bool = True) -> float:
        """A finite int or float (never a boolean) above `low` (at least `low` if not strict)."""
        value = self.data.get(key, default)
        if not _is_number(value) or not math.isfinite(value):
            raise self.wrong(key, "a number")
        if value < low or (strict and value == low):
            raise self.wrong(key, f"a number {'above' if strict else 'of at least'} {low:g}")
        return float(value)

    def optional_number(self, key: str, low: float = 0.0) -> float | None:
        """Like `number`, or None when absent."""
        return self.number(key, 0.0, low) if key in self.data else None

    def boolean(self, key: str, default: bool) -> bool:
        """A TOML boolean (true/false)."""
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.wrong(key, "true or false")
        return value

    def choice(self, key: str, default: str, choices: Collection[str]) -> str:
        """One of `choices`."""
        value = self.data.get(key, default)
        if value not in choices:
            listed = ", ".join(f'"{choice}"' for choice in choices)
            raise self.wrong(key, f"one of {listed}")
        return cast("str", value)

    def array(self, key: str) -> list[object]:
        """An array (empty when absent)."""
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise self.wrong(key, "an array")
        return cast("list[object]", value)

    def strings(self, key: str) -> list[str]:
        """An array of non-empty strings (empty when absent)."""
        values = self.array(key)
        for index, item in enumerate(values):
            if not isinstance(item, str) or not item.strip():
                raise self.loc.error(
                    key_path(self.at(key), index),
                    f"Each item of '{key}' must be a non-empty string, not {shown(item)}.",
                )
        return cast("list[str]", values)

    def table(self, key: str, known: Collection[str]) -> Table:
        """A sub-table with only `known` keys (empty when absent)."""
        return Table.read(self.loc, self.at(key), self.data.get(key, {}), known)

    def tables(self, key: str, known: Collection[str]) -> list[Table]:
        """An array of tables (`[[key]]`), each with only `known` keys."""
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise self.fail(key, f"'{key}' must be an array of tables; write [[{key}]] sections.")
        return [
            Table.read(self.loc, self.at(key) + f"[{i}]", v, known) for i, v in enumerate(value)
        ]

    def json_object(self, key: str) -> JSONObject:
        """A table passed through as a JSON object (empty when absent)."""
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.wrong(key, "a table")
        return cast("JSONObject", as_json(self.loc, self.at(key), value))


def as_json(loc: Location, path: str, value: object) -> JSONValue:
    """`value` checked to be JSON-encodable (no TOML dates, no inf/nan), unchanged."""
    if isinstance(value, dict):
        return {str(k): as_json(loc, key_path(path, str(k)), v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(loc, key_path(path, i), item) for i, item in enumerate(value)]
    if isinstance(value, date | time | datetime):
        raise loc.error(path, f"A TOML date/time ({value}) cannot be sent as JSON; quote it.")
    if isinstance(value, float) and not math.isfinite(value):
        raise loc.error(path, f"The float {value} cannot be sent as JSON; use a finite number.")
    return cast("JSONValue", value)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
