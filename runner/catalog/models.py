"""The model catalog: known model ids, their aliases, and when deprecated ones stop working.

The catalog is package data (`runner/data/models.toml`). An unknown model id is only ever a
warning: the API knows models this catalog has not heard of yet.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from functools import cache
from types import MappingProxyType

from runner.catalog.package_data import data_toml


@dataclass(frozen=True)
class ModelInfo:
    """One catalogued model; `end_of_life` is set only for deprecated models."""

    id: str
    aliases: tuple[str, ...] = ()
    pattern: str | None = None
    end_of_life: date | None = None

    def matches(self, model_id: str) -> bool:
        """Whether `model_id` names this model (its id, an alias, or its family pattern)."""
        if model_id == self.id or model_id in self.aliases:
            return True
        return self.pattern is not None and fnmatchcase(model_id, self.pattern)


@cache
def model_catalog() -> Mapping[str, ModelInfo]:
    """Every catalogued model by id, read once from the package data."""
    return MappingProxyType(
        {
            model_id: _model_info(model_id, entry)
            for model_id, entry in data_toml("models.toml").items()
        }
    )


def find_model(model_id: str) -> ModelInfo | None:
    """The catalogued model that `model_id` names, or None."""
    exact = model_catalog().get(model_id)
    if exact is not None:
        return exact
    return next((info for info in model_catalog().values() if info.matches(model_id)), None)


def model_warning(model_id: str, today: date) -> str | None:
    """A sentence warning about an unknown, deprecated or retired model; None if it is current."""
    info = find_model(model_id)
    if info is None:
        return _unknown_warning(model_id)
    eol = info.end_of_life
    if eol is None:
        return None
    if eol < today:
        return (
            f"Model '{model_id}' reached its end of life on {eol.isoformat()}; the API will "
            "likely answer 404. Use a current model."
        )
    return (
        f"Model '{model_id}' is deprecated and reaches its end of life on {eol.isoformat()}; "
        "plan to move to a current model."
    )


def _unknown_warning(model_id: str) -> str:
    names = [name for info in model_catalog().values() for name in (info.id, *info.aliases)]
    close = difflib.get_close_matches(model_id, names, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return (
        f"Model '{model_id}' is not in beta-runner's model catalog; the API may still know it."
        f"{hint}"
    )


def _model_info(model_id: str, entry: dict[str, object]) -> ModelInfo:
    aliases = entry.get("aliases", [])
    pattern = entry.get("pattern")
    eol = entry.get("end_of_life")
    return ModelInfo(
        id=model_id,
        aliases=tuple(str(alias) for alias in aliases) if isinstance(aliases, list) else (),
        pattern=pattern if isinstance(pattern, str) else None,
        end_of_life=eol if isinstance(eol, date) else None,
    )
