"""Which arm is the baseline when none is named: one rule for every command and function."""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from runner.results.schema import R

BASELINE = "baseline"


class UnknownBaseline(ValueError):
    """The baseline asked for is not an arm of the results; `arms` are the ones there are."""

    def __init__(self, arm: str, arms: Collection[str]) -> None:
        self.arm = arm
        self.arms = tuple(sorted(arms))
        super().__init__(
            f"The baseline arm {arm!r} is not in these results; their arms are "
            f"{', '.join(self.arms) or '(none)'}."
        )


def check_baseline(arm: str, arms: Collection[str]) -> None:
    """UnknownBaseline unless `arm` is one of `arms`."""
    if arm not in arms:
        raise UnknownBaseline(arm, arms)


def default_baseline(results: pl.LazyFrame | pl.DataFrame) -> str:
    """The arm named "baseline"; else the first arm (by name) that sends no betas; else the
    first arm by name ("baseline" when there are no rows)."""
    arms = (
        results.lazy()
        .select(R.arm, pl.col(R.betas).list.len().alias("betas_sent"))
        .unique()
        .collect()
    )
    names = sorted(arms[R.arm].drop_nulls())
    plain = sorted(arms.filter(pl.col("betas_sent") == 0)[R.arm].drop_nulls())
    if BASELINE in names or not names:
        return BASELINE
    return str((plain or names)[0])
