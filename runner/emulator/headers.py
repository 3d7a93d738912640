"""Request headers the API acts on: the API key, `anthropic-version` and `anthropic-beta`.

`anthropic-beta` may be a comma list, with or without spaces, or repeated headers; all values
merge, in order, without duplicates. `x-api-key` wins when both auth headers are present.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from runner.emulator.catalog import KNOWN_BETAS
from runner.emulator.errors import authentication, invalid_request

VERSION_2023 = "2023-06-01"
VERSION_2026 = "2026-10-21"
SUPPORTED_VERSIONS = (VERSION_2023, VERSION_2026)


def values(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    """Every value of header `name` (case-insensitive), in the order received."""
    return [value for key, value in headers if key.lower() == name]


def api_key(headers: Sequence[tuple[str, str]], allowed: tuple[str, ...]) -> str:
    """The caller's key; 401 when it is missing, or not among `allowed` when that is set."""
    key = next((v.strip() for v in values(headers, "x-api-key") if v.strip()), "")
    if not key:
        bearer = next(iter(values(headers, "authorization")), "")
        scheme, _, token = bearer.strip().partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else ""
    if not key:
        raise authentication("x-api-key header is required")
    if allowed and key not in allowed:
        raise authentication("invalid x-api-key")
    return key


def version(headers: Sequence[tuple[str, str]]) -> str:
    """The API version asked for; 400 when missing or not one the emulator speaks."""
    given = values(headers, "anthropic-version")
    if not given:
        raise invalid_request("anthropic-version: header is required")
    if given[-1].strip() not in SUPPORTED_VERSIONS:
        raise invalid_request(
            f"anthropic-version: {given[-1].strip()!r} is not a valid version; "
            f"use one of {', '.join(SUPPORTED_VERSIONS)}"
        )
    return given[-1].strip()


def betas(headers: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """Every beta named across all `anthropic-beta` headers, first occurrence first."""
    names = (n.strip() for value in values(headers, "anthropic-beta") for n in value.split(","))
    return tuple(dict.fromkeys(n for n in names if n))


def check_known(names: Iterable[str], planted: Iterable[str]) -> None:
    """400 `Unsupported beta header: NAME` for the first name neither known nor planted."""
    accepted = KNOWN_BETAS | set(planted)
    for name in names:
        if name not in accepted:
            raise invalid_request(f"Unsupported beta header: {name}")
