"""The report's chart sections: latency and TTFT distributions, token and cost bars, errors."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from runner.report.svg import Bar, Group, bar_chart, box_plot
from runner.results.schema import STATUS_OK, R

COST_COLUMN = "cost_usd"  # summarize's total cost per group, once prices are known


def distribution_charts(results: pl.DataFrame, arms: Sequence[str]) -> str:
    """Box plots of latency and of time to first token per (model, arm), successes only."""
    ok = results.filter(pl.col(R.status) == STATUS_OK)
    keys = _keys(results, arms)  # every arm, so one that always failed is shown as such
    charts = [
        box_plot(_groups(ok, column, keys, arms), title=title, unit="ms")
        for column, title in ((R.latency_ms, "Latency"), (R.ttft_ms, "Time to first token"))
        if ok[column].drop_nulls().len()
    ]
    return "".join(charts) or '<p class="empty">No successful request to plot.</p>'


def token_charts(summary: pl.DataFrame, arms: Sequence[str]) -> str:
    """Bars of mean output tokens and, when the summary has it, cost per (model, arm)."""
    charts = [
        bar_chart(
            _bars(summary, "mean_output_tokens", arms), title="Mean output tokens", unit="tokens"
        )
    ]
    if COST_COLUMN in summary.columns and summary[COST_COLUMN].drop_nulls().len():
        charts.append(bar_chart(_bars(summary, COST_COLUMN, arms), title="Cost", unit="USD"))
    return "".join(charts)


def error_chart(summary: pl.DataFrame, arms: Sequence[str]) -> str:
    """Bars of the error rate (share of requests that failed) per (model, arm); "" if none."""
    if not summary["errors"].sum():
        return ""
    return bar_chart(_bars(summary, "error_rate", arms), title="Error rate", unit="share")


def _groups(
    frame: pl.DataFrame, column: str, keys: list[tuple[str, str]], arms: Sequence[str]
) -> list[Group]:
    groups = []
    for model, arm in keys:
        values = frame.filter((pl.col(R.model) == model) & (pl.col(R.arm) == arm))[column]
        groups.append(Group(f"{model} · {arm}", tuple(values.drop_nulls()), _tone(arm, arms)))
    return groups


def _bars(summary: pl.DataFrame, column: str, arms: Sequence[str]) -> list[Bar]:
    bars = []
    for model, arm in _keys(summary, arms):
        row = summary.filter((pl.col(R.model) == model) & (pl.col(R.arm) == arm))
        value = row[column][0] if row.height else None
        failed = column != "error_rate" and row.height and row["ok"][0] == 0
        shown = None if value is None or failed else float(value)
        missing = "failed: no successful request" if failed else "not measured"
        bars.append(Bar(f"{model} · {arm}", shown, _tone(arm, arms), missing))
    return bars


def _keys(frame: pl.DataFrame, arms: Sequence[str]) -> list[tuple[str, str]]:
    pairs = set(frame.select(R.model, R.arm).unique().iter_rows())
    rank = {arm: i for i, arm in enumerate(arms)}
    return sorted(pairs, key=lambda p: (p[0], rank.get(p[1], len(rank)), p[1]))


def _tone(arm: str, arms: Sequence[str]) -> int:
    return list(arms).index(arm) if arm in arms else len(arms)
