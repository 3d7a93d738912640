"""Turning `KEY=VALUE` words from the command line into an `EmulatorConfig`.

Both `beta-runner emulate --set KEY=VALUE` and `beta-runner run --local --emulator KEY=VALUE`
use it, so every emulator setting is reachable by its field name without a flag per field.
Special keys: `beta_effect=SPEC` (repeatable, see the emulator's planted effects) and
`rate_limit_burst=START,DURATION` (seconds of server uptime).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from runner.emulator import EmulatorConfig, parse_beta_effect
from runner.errors import UsageError

_FIELDS = {f.name: f for f in dataclasses.fields(EmulatorConfig)}


def emulator_config(settings: Iterable[str], base: EmulatorConfig | None = None) -> EmulatorConfig:
    """Apply each `KEY=VALUE` over `base` (default settings); UsageError names a bad one."""
    changes: dict[str, Any] = {}
    effects = list((base or EmulatorConfig()).beta_effects)
    for setting in settings:
        key, value = _split(setting)
        if key == "beta_effect":
            effects.append(_effect(value))
        else:
            changes[key] = _convert(key, value)
    return dataclasses.replace(base or EmulatorConfig(), beta_effects=tuple(effects), **changes)


def setting_names() -> list[str]:
    """Every key `emulator_config` accepts."""
    return sorted([*(n for n in _FIELDS if n != "beta_effects"), "beta_effect"])


def _split(setting: str) -> tuple[str, str]:
    key, sep, value = setting.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or (key not in _FIELDS and key != "beta_effect") or key == "beta_effects":
        raise UsageError(
            f"Emulator setting {setting!r} is not KEY=VALUE with a known KEY; "
            f"known keys: {', '.join(setting_names())}."
        )
    return key, value.strip()


def _effect(value: str) -> Any:
    try:
        return parse_beta_effect(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _convert(key: str, value: str) -> Any:
    default = _FIELDS[key].default
    try:
        if key == "rate_limit_burst":
            start, duration = (float(part) for part in value.split(","))
            return (start, duration)
        if key == "api_keys":
            raise UsageError("Emulator keys are not taken on the command line.")
        if isinstance(default, bool):
            return _boolean(value)
        if key == "otpm_mode" or isinstance(default, str):
            return value
        if isinstance(default, int):
            return int(value)
        return float(value)
    except ValueError:
        raise UsageError(f"Emulator setting {key}={value!r} is not a valid value.") from None


def _boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)
