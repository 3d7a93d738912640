"""The package's public surface is explicit, sorted and importable."""

from __future__ import annotations

import runner


def _isort_key(name: str) -> tuple[int, str]:
    # Constants, then classes, then functions: the order ruff's RUF022 keeps.
    group = 0 if name.isupper() and len(name) > 1 else 1 if name[0].isupper() else 2
    return group, name


def test_all_is_sorted_and_every_name_exists() -> None:
    """`runner.__all__` is sorted, has no duplicates, and each name resolves to an object."""
    assert runner.__all__ == sorted(set(runner.__all__), key=_isort_key)
    for name in runner.__all__:
        assert getattr(runner, name) is not None


def test_notebook_names_are_public() -> None:
    """What a notebook needs to load and summarise a run is exported."""
    assert {"read_results", "read_attempts", "summarize", "load_experiment"} <= set(runner.__all__)
