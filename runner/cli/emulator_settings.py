"""Turning `KEY=VALUE` words from the command line into an `EmulatorConfig`, checked.

Both `beta-runner emulate --set KEY=VALUE` and `beta-runner run --local --emulator KEY=VALUE`
use it, so every emulator setting is reachable by its field name without a flag per field.
Special keys: `beta_effect=SPEC` (repeatable, see the emulator's planted effects) and
`rate_limit_burst=START,DURATION` (seconds of server uptime). Values are checked like an
experiment's: integers are integers, times and rates finite and not negative, probabilities
in [0, 1], enums one of their choices (`nan` and `inf` are refused). The emulator's accepted
keys are never taken on the command line: see `emulator_keys` (a keys file is read like an
experiment: a regular file, UTF-8, each key printable).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from runner.config.environment import EMULATOR_KEYS_ENV, Environment
from runner.config.files import decode_utf8, read_bytes
from runner.emulator import EmulatorConfig, parse_beta_effect
from runner.errors import UsageError

_FIELDS = {f.name: f for f in dataclasses.fields(EmulatorConfig)}
_NOT_SETTINGS = ("beta_effects", "api_keys")
_PROBABILITIES = ("jitter", "batch_expire_share")
_CHOICES = {"otpm_mode": ("realtime", "max_tokens")}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def emulator_config(settings: Iterable[str], base: EmulatorConfig | None = None) -> EmulatorConfig:
    """Apply each `KEY=VALUE` over `base` (default settings); UsageError names a bad one."""
    changes: dict[str, Any] = {}
    effects = list((base or EmulatorConfig()).beta_effects)
    for setting in settings:
        key, value = _split(setting)
        if key == "beta_effect":
            effects.append(_effect(setting, value))
        else:
            changes[key] = _convert(setting, key, value)
    return dataclasses.replace(base or EmulatorConfig(), beta_effects=tuple(effects), **changes)


def local_only(settings: Sequence[str], local: bool) -> None:
    """UsageError when `--emulator` settings are given without `--local` (nothing would
    use them)."""
    if settings and not local:
        raise UsageError("--emulator settings only apply with --local.")


def setting_names() -> list[str]:
    """Every key `emulator_config` accepts."""
    return sorted([*(n for n in _FIELDS if n not in _NOT_SETTINGS), "beta_effect"])


def emulator_keys(env: Environment, keys_file: Path | None) -> tuple[str, ...]:
    """The keys the emulator accepts: one per line of `keys_file`, else the comma-separated
    `BETA_RUNNER_EMULATOR_KEYS`; none (any key accepted) when neither is given."""
    if keys_file is None:
        return env.emulator_keys
    text = decode_utf8(keys_file, read_bytes(keys_file))
    keys = []
    for number, line in enumerate(text.split("\n"), start=1):
        key = line.strip()
        if any(not char.isprintable() for char in key):
            raise UsageError(
                f"--keys-file {keys_file}: line {number} holds a control or non-printing "
                "character; a key is printable text, one a line."
            )
        if key:
            keys.append(key)
    if not keys:
        raise UsageError(f"--keys-file {keys_file}: the file holds no key; one key a line.")
    return tuple(keys)


def _split(setting: str) -> tuple[str, str]:
    key, sep, value = setting.partition("=")
    key = key.strip().replace("-", "_")
    if key == "api_keys":
        raise UsageError(
            f"emulator setting {key}: keys are not taken on the command line (they would show "
            f"in the process list); put them in {EMULATOR_KEYS_ENV} (comma-separated) or in a "
            "file given with `emulate --keys-file FILE`."
        )
    if not sep or key not in setting_names():
        raise UsageError(
            f"emulator setting {setting!r}: not KEY=VALUE with a known KEY; "
            f"known keys: {', '.join(setting_names())}."
        )
    return key, value.strip()


def _effect(setting: str, value: str) -> Any:
    try:
        return parse_beta_effect(value)
    except ValueError as exc:
        raise UsageError(f"emulator setting {setting!r}: {exc}") from None


def _convert(setting: str, key: str, value: str) -> Any:
    default = _FIELDS[key].default
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            raise _bad(setting, f"one of {', '.join(_CHOICES[key])}")
        return value
    if key == "rate_limit_burst":
        parts = value.split(",")
        if len(parts) != 2:
            raise _bad(setting, "START,DURATION in seconds, e.g. 5,10")
        start, duration = (_number(setting, part, 0.0) for part in parts)
        return (start, duration)
    if isinstance(default, bool):
        return _boolean(setting, value)
    if isinstance(default, int):
        return _integer(setting, value, low=None if key == "seed" else 0)
    if default is None and value.lower() in ("none", ""):
        return None
    high = 1.0 if key.startswith("p_") or key in _PROBABILITIES else None
    return _number(setting, value, 0.0, high)


def _boolean(setting: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE or lowered in _FALSE:
        return lowered in _TRUE
    raise _bad(setting, "true or false")


def _integer(setting: str, value: str, low: int | None) -> int:
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or (low is not None and number < low):
        raise _bad(setting, "an integer" + (f" of at least {low}" if low is not None else ""))
    return number


def _number(setting: str, value: str, low: float, high: float | None = None) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < low or (high is not None and number > high):
        rule = f"a number from {low:g} to {high:g}" if high is not None else "a number >= 0"
        raise _bad(setting, rule)
    return number


def _bad(setting: str, expected: str) -> UsageError:
    key, _, value = setting.partition("=")
    return UsageError(
        f"emulator setting {key.strip()}: {value.strip()!r} is not valid; give {expected}."
    )
