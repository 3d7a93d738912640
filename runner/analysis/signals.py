"""Response evidence signals: which catalogued signals each arm's betas can leave, and matching.

Each result row records `evidence`: the signals `runner.http.message.evidence` found in the answer
(`block:thinking`, `stop_reason:model_context_window_exceeded`, `field:context_management`,
`usage.speed=fast`, ...). The beta catalog lists, per beta, the signals it can leave. A row
shows an arm's evidence when one of its signals equals a catalogued signal of one of the arm's
betas, or extends it (`usage.cache_creation` matches `usage.cache_creation.ephemeral_1h_...`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from runner.catalog.betas import BetaInfo, catalog
from runner.results.schema import R

SIGNAL = "_signal"


def signal_frame(beta_catalog: Mapping[str, BetaInfo] | None = None) -> pl.LazyFrame:
    """One row per (beta, signal) the catalog lists."""
    entries = (beta_catalog or catalog()).values()
    rows = [(info.name, signal) for info in entries for signal in info.evidence]
    return pl.LazyFrame(rows, schema={"_beta": pl.String, SIGNAL: pl.String}, orient="row")


def arm_signals(frame: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (arm, signal): the catalogued signals of the betas the arm sent."""
    arms = frame.group_by(R.arm).agg(pl.col(R.betas).first()).explode(R.betas)
    return (
        arms.join(signal_frame(), left_on=R.betas, right_on="_beta", how="inner")
        .select(R.arm, SIGNAL)
        .unique()
    )


def signals_by_arm(frame: pl.LazyFrame) -> dict[str, list[str]]:
    """The catalogued signals of each arm's betas, for arms that have any (a small table)."""
    grouped: dict[str, list[str]] = {}
    for arm, signal in arm_signals(frame).sort(R.arm, SIGNAL).collect().iter_rows():
        grouped.setdefault(arm, []).append(signal)
    return grouped


def shows_any(evidence: pl.Expr, signals: Sequence[str]) -> pl.Expr:
    """True where the `evidence` list holds one of `signals` or an extension of one."""
    element = pl.element()
    hit = pl.lit(False)
    for wanted in signals:
        hit = (
            hit
            | (element == wanted)
            | element.str.starts_with(wanted + ".")
            | element.str.starts_with(wanted + "=")
        )
    return evidence.list.eval(hit).list.any().fill_null(False)
