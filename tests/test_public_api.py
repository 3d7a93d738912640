"""The package's public surface is explicit, sorted and importable."""

from __future__ import annotations

from pathlib import Path

import polars as pl

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


def test_paths_may_be_strings(tmp_path: Path) -> None:
    """Public functions that take a path accept a `str` as well as a `Path`."""
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."claude-sonnet-5"]\ninput = 1.0\noutput = 2.0\n', encoding="utf-8")
    assert runner.load_prices(str(prices)).price("claude-sonnet-5").input == 1.0  # type: ignore[union-attr]
    quickstart = Path(__file__).parent.parent / "experiments" / "quickstart.toml"
    assert runner.load_experiment(str(quickstart)).experiment.name == "quickstart"


def test_default_baseline_is_public() -> None:
    """The baseline rule the commands use is exported: the arm named baseline wins."""
    frame = pl.DataFrame(
        {runner.R.arm: ["beta", "baseline"], runner.R.betas: [["x-2026-01-01"], []]},
        schema={runner.R.arm: pl.String, runner.R.betas: pl.List(pl.String)},
    )
    assert runner.default_baseline(frame) == "baseline"
