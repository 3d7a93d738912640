"""Typed access to the fields of a JSON object read from a file, failing with where and what.

`read_json` reads the file itself through the defensive reader of `runner.config.files`.

`Fields(path, where, value)` wraps one JSON object found at `where` (a key path such as
`resumes[0]`) in the file `path`; each accessor returns the field with its type checked, or
raises RunStoreError `<file>: <key path>: <what is wrong>`. A value that is not an object at
all fails the same way when the `Fields` is made.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from runner.config.files import MAX_DEPTH, MAX_TOML_BYTES, json_text
from runner.config.types import JSONObject, JSONValue
from runner.errors import ConfigError, RunStoreError


def read_json(path: Path, limit: int = MAX_TOML_BYTES, depth: int = MAX_DEPTH) -> object:
    """The JSON document at `path`, read defensively (a regular file of at most `limit`
    bytes, UTF-8, not nested past what the parser can take); RunStoreError `<file>: <what is
    wrong>` otherwise, so a device, FIFO or runaway file never hangs or crashes a reader."""
    try:
        text = json_text(path, limit=limit, depth=depth)
    except ConfigError as exc:
        raise RunStoreError(str(exc)) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise RunStoreError(f"{path}: not valid JSON ({exc}).") from None


class Fields:
    """One JSON object of a file, read field by field."""

    def __init__(self, path: Path, where: str, value: object) -> None:
        self.path = path
        self.where = where
        if not isinstance(value, dict):
            self._fail_here(f"must be a JSON object, not {_kind(value)}")
        self.data: JSONObject = value

    def fail(self, key: str, problem: str) -> NoReturn:
        """Raise RunStoreError naming the file, `key` and the problem."""
        raise RunStoreError(f"{self.path}: {self._at(key)}: {problem}.")

    def text(self, key: str) -> str:
        """A required string."""
        value = self._required(key)
        if not isinstance(value, str):
            self._wrong(key, "a string", value)
        return value

    def optional_text(self, key: str) -> str | None:
        """A string, or None when absent or null."""
        return None if self.data.get(key) is None else self.text(key)

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        """A string that is one of `allowed`."""
        value = self.text(key)
        if value not in allowed:
            self.fail(key, f"is {value!r}; expected one of {', '.join(allowed)}")
        return value

    def integer(self, key: str) -> int:
        """A required integer (not a bool)."""
        value = self._required(key)
        if not isinstance(value, int) or isinstance(value, bool):
            self._wrong(key, "an integer", value)
        return value

    def count(self, key: str) -> int:
        """A required integer >= 0."""
        value = self.integer(key)
        if value < 0:
            self.fail(key, f"is {value}; a count cannot be negative")
        return value

    def time(self, key: str) -> datetime:
        """A required ISO 8601 timestamp with a timezone."""
        value = self.text(key)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.fail(key, f"{value!r} is not an ISO 8601 timestamp")
        if parsed.tzinfo is None:
            self.fail(key, f"{value!r} has no timezone")
        return parsed

    def optional_time(self, key: str) -> datetime | None:
        """A timestamp, or None when absent or null."""
        return None if self.data.get(key) is None else self.time(key)

    def mapping(self, key: str) -> Fields:
        """A required nested object."""
        return Fields(self.path, self._at(key), self._required(key))

    def optional_mapping(self, key: str) -> Fields | None:
        """A nested object, or None when absent or null."""
        return None if self.data.get(key) is None else self.mapping(key)

    def mappings(self, key: str) -> list[Fields]:
        """A list of objects (absent: empty)."""
        value = self.data.get(key, [])
        if not isinstance(value, list):
            self._wrong(key, "a list", value)
        return [Fields(self.path, f"{self._at(key)}[{i}]", item) for i, item in enumerate(value)]

    def text_list(self, key: str) -> list[str]:
        """A required list of strings."""
        value = self._required(key)
        if not isinstance(value, list):
            self._wrong(key, "a list", value)
        for item in value:
            if not isinstance(item, str):
                self._wrong(key, "a list of strings, holding", item)
        return list(value)  # type: ignore[arg-type]

    def strings(self) -> dict[str, str]:
        """This object, every value a string."""
        return {key: self.text(key) for key in self.data}

    def scalars(self) -> dict[str, float | int | str | None]:
        """This object, every value a number, string or null."""
        found: dict[str, float | int | str | None] = {}
        for key, value in self.data.items():
            if value is not None and not isinstance(value, int | float | str):
                self._wrong(key, "a number, string or null", value)
            found[key] = value
        return found

    def _required(self, key: str) -> JSONValue:
        if key not in self.data:
            self.fail(key, "is missing")
        return self.data[key]

    def _wrong(self, key: str, expected: str, value: object) -> NoReturn:
        self.fail(key, f"must be {expected}, not {_kind(value)} {_shown(value)}")

    def _fail_here(self, problem: str) -> NoReturn:
        where = f"{self.where}: " if self.where else ""
        raise RunStoreError(f"{self.path}: {where}{problem}.")

    def _at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, bool | dict | list | str):
        return names[type(value)]
    return "a number" if isinstance(value, int | float) else type(value).__name__


def _shown(value: object) -> str:
    text = repr(value)
    return f"({text[:40]}...)" if len(text) > 40 else f"({text})"
