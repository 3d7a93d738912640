"""The Messages request-body fields an experiment sets: checked, defaulted and merged.

Fields pass through as given, but the ones the runner controls (model, messages, stream) are
rejected, known fields are type-checked (TOML `true` is not an integer), and unknown fields are
a warning, since the API may know fields this list does not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from runner.config.tables import Table, closest, shown
from runner.config.types import API_VERSIONS, JSONObject, JSONValue

DEFAULT_MAX_TOKENS = 1024

RUNNER_KEYS = {
    "model": "the top-level models list",
    "messages": "the cases ([[cases]] or cases_file)",
    "stream": "run.stream",
}
SAMPLING_KEYS = ("temperature", "top_p", "top_k")


def _is_int(value: JSONValue, low: int) -> bool:
    return type(value) is int and value >= low


def _is_unit(value: JSONValue) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def _is_table_list(value: JSONValue) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _is_text_or_blocks(value: JSONValue) -> bool:
    return isinstance(value, str) or _is_table_list(value)


def _is_table(value: JSONValue) -> bool:
    return isinstance(value, dict)


def _is_str(value: JSONValue) -> bool:
    return isinstance(value, str)


_Check = tuple[Callable[[JSONValue], bool], str]
FIELD_CHECKS: Mapping[str, _Check] = {
    "max_tokens": (lambda v: _is_int(v, 1), "a positive integer"),
    "temperature": (_is_unit, "a number from 0 to 1"),
    "top_p": (_is_unit, "a number from 0 to 1"),
    "top_k": (lambda v: _is_int(v, 0), "a non-negative integer"),
    "system": (_is_text_or_blocks, "a string or an array of content-block tables"),
    "tools": (_is_table_list, "an array of tool tables"),
    "tool_choice": (_is_table, 'a table such as {type = "auto"}'),
    "thinking": (_is_table, 'a table such as {type = "enabled", budget_tokens = 2048}'),
    "metadata": (_is_table, "a table"),
    "stop_sequences": (
        lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
        "an array of strings",
    ),
    "output_config": (_is_table, "a table"),
    "output_format": (_is_table, "a table"),
    "context_management": (_is_table, "a table such as {edits = [...]}"),
    "container": (lambda v: isinstance(v, str | dict), "a string or a table"),
    "mcp_servers": (_is_table_list, "an array of server tables"),
    "cache_control": (_is_table, 'a table such as {type = "ephemeral"}'),
    "diagnostics": (_is_table, "a table"),
    "fallbacks": (lambda v: v == "default" or isinstance(v, list), 'an array or "default"'),
    "fallback_credit_token": (_is_str, "a string"),
    "speed": (_is_str, 'a string such as "fast"'),
    "service_tier": (_is_str, 'a string such as "auto"'),
    "inference_geo": (_is_str, "a string"),
}


def read_request(parent: Table, key: str, warnings: list[str]) -> JSONObject:
    """The body table at `parent.key` (empty when absent), checked field by field."""
    body = parent.json_object(key)
    table = Table(parent.loc, parent.at(key), body)
    for field, value in body.items():
        _check_field(table, field, value, warnings)
    return body


def with_default_max_tokens(body: JSONObject) -> JSONObject:
    """`body` with max_tokens set to the default when it has none."""
    return body if "max_tokens" in body else {**body, "max_tokens": DEFAULT_MAX_TOKENS}


def merged(base: JSONObject, *overrides: JSONObject) -> JSONObject:
    """`base` with each override's top-level keys replacing its own, in order."""
    result = dict(base)
    for override in overrides:
        result.update(override)
    return result


def version_warnings(body: JSONObject, version: str, where: str) -> list[str]:
    """Warnings for fields the chosen anthropic-version no longer accepts."""
    if version != API_VERSIONS[1]:
        return []
    return [
        f"{where}.{field}: anthropic-version {version} removed {field}; the API will answer 400. "
        'Remove it or use anthropic_version = "2023-06-01".'
        for field in SAMPLING_KEYS
        if field in body
    ]


def _check_field(table: Table, field: str, value: JSONValue, warnings: list[str]) -> None:
    if field in RUNNER_KEYS:
        raise table.fail(
            field,
            f"'{field}' is set by beta-runner from {RUNNER_KEYS[field]}; remove it from "
            f"{table.path}.",
        )
    check = FIELD_CHECKS.get(field)
    if check is None:
        warnings.append(
            f"{table.at(field)}: '{field}' is not a Messages field beta-runner knows; it is sent "
            f"as given.{closest(field, FIELD_CHECKS)}"
        )
    elif not check[0](value):
        raise table.fail(field, f"'{field}' is {shown(value)}, but it must be {check[1]}.")
