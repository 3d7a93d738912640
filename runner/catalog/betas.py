"""The beta catalog: which `anthropic-beta` names exist, and what each needs and shows.

The catalog is package data (`runner/data/betas.toml`) so it can be updated without code
changes. Names are checked for form here; whether the API knows a name is only ever a warning,
since the API learns new betas before this catalog does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from types import MappingProxyType

from runner.catalog.package_data import data_toml

# Matched in full and ASCII only: `\d` takes other scripts' digits and `$` a final newline.
BETA_NAME_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*-([0-9]{4})-([0-9]{2})-([0-9]{2})")
STATUSES = ("beta", "ga-noop", "not-messages", "unknown")


@dataclass(frozen=True)
class BetaInfo:
    """One catalogued beta: what it does, what the request needs, what the response shows.

    `needs_body` lists request-body keys (dotted for nested ones; `stream` means run.stream);
    `applies_to` lists model-id prefixes it changes anything on (empty: no known restriction).
    """

    name: str
    date: date
    description: str
    status: str
    needs: str
    needs_body: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    applies_to: tuple[str, ...] = ()

    def applies_to_model(self, model: str) -> bool:
        """Whether the beta can change anything on `model`, as far as the catalog knows."""
        return not self.applies_to or model.startswith(self.applies_to)


def check_beta_name(name: str) -> str | None:
    """Return a sentence saying what is wrong with a beta name's form, or None if well formed."""
    match = BETA_NAME_RE.fullmatch(name)
    if match is None:
        return (
            f"'{name}' is not a beta name: expected lower-case words joined by '-' and ending in "
            "a date, like 'interleaved-thinking-2025-05-14'."
        )
    try:
        date(*(int(part) for part in match.groups()))
    except ValueError:
        return f"'{name}' ends in an impossible date; check the beta name's date."
    return None


def beta_date(name: str) -> date:
    """The date suffix of a well-formed beta name."""
    return date.fromisoformat(name[-10:])


def without_date(name: str) -> str:
    """A well-formed beta name without its date, e.g. 'interleaved-thinking'."""
    return name[:-11]


@cache
def catalog() -> Mapping[str, BetaInfo]:
    """Every catalogued beta by name, read once from the package data."""
    table = data_toml("betas.toml")
    return MappingProxyType({name: _beta_info(name, entry) for name, entry in table.items()})


def _beta_info(name: str, entry: dict[str, object]) -> BetaInfo:
    problem = check_beta_name(name)
    status = str(entry["status"])
    if problem is not None or status not in STATUSES:
        raise ValueError(f"The beta catalog entry '{name}' is malformed: {problem or status}.")
    return BetaInfo(
        name=name,
        date=beta_date(name),
        description=str(entry["description"]),
        status=status,
        needs=str(entry["needs"]),
        needs_body=_strings(entry.get("needs_body")),
        evidence=_strings(entry.get("evidence")),
        applies_to=_strings(entry.get("applies_to")),
    )


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()
