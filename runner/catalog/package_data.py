"""Reading the data files shipped inside the package (`runner/catalog/data/*.toml`)."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any


def data_text(name: str) -> str:
    """The text of `runner/catalog/data/<name>`."""
    return (
        resources.files("runner.catalog")
        .joinpath("data")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )


def data_toml(name: str) -> dict[str, Any]:
    """`runner/catalog/data/<name>` parsed as TOML."""
    return tomllib.loads(data_text(name))
