"""The package's public surface is explicit, sorted and importable."""

from __future__ import annotations

import runner


def test_all_is_sorted_and_every_name_exists() -> None:
    """`runner.__all__` is sorted and each name resolves to a real object."""
    assert runner.__all__ == sorted(runner.__all__)
    for name in runner.__all__:
        assert getattr(runner, name) is not None


def test_notebook_names_are_public() -> None:
    """What a notebook needs to load and summarise a run is exported."""
    assert {"read_results", "read_attempts", "summarize", "load_experiment"} <= set(runner.__all__)
