"""The report's text and table sections: run facts, per-arm summary, errors, comparison."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

import polars as pl

from runner.report.numbers import MISSING, format_number, format_share
from runner.report.tables import html_table


def run_facts(manifest: dict[str, Any]) -> str:
    """The manifest's headline: experiment, run id, status, times, duration and counts."""
    counts = manifest.get("counts") or {}
    experiment = manifest.get("experiment") or {}
    facts = [
        ("experiment", manifest.get("experiment_name")),
        ("description", experiment.get("description")),
        ("run id", manifest.get("run_id")),
        ("status", manifest.get("status")),
        ("started", manifest.get("started_at")),
        ("finished", manifest.get("finished_at")),
        ("duration", _duration(manifest.get("started_at"), manifest.get("finished_at"))),
        ("fingerprint", manifest.get("fingerprint")),
        ("planned requests", counts.get("planned")),
        ("requests", counts.get("requests")),
        ("ok", counts.get("ok")),
        ("errors", counts.get("errors")),
        ("attempts", counts.get("attempts")),
    ]
    rows = "".join(
        f"<dt>{escape(name)}</dt><dd>{escape(_fact_text(value))}</dd>"
        for name, value in facts
        if value not in (None, "")
    )
    return f'<dl class="facts">{rows}</dl>'


def summary_table(summary: pl.DataFrame) -> str:
    """The per-(model, arm) summary from `summarize`, as a table."""
    return html_table(summary, table_id="summary-table")


def error_table(rates: pl.DataFrame) -> str:
    """`error_rates` rows (per model, arm and error type, with Wilson CIs); a line if none."""
    if not rates.height or not rates["errors"].sum():
        return '<p class="empty">No request failed.</p>'
    shown = rates.with_columns(
        pl.struct("ci_low", "ci_high")
        .map_elements(_share_interval, return_dtype=pl.String)
        .alias("95% CI")
    ).drop("ci_low", "ci_high")
    return html_table(shown, table_id="error-table", formats={"rate": format_share})


def comparison_table(comparison: pl.DataFrame) -> str:
    """`compare`'s rows with the CI as one column; significant rows carry a class and a mark."""
    if not comparison.height:
        return '<p class="empty">No arm to compare with the baseline.</p>'
    shown = comparison.with_columns(
        pl.struct("ci_low", "ci_high")
        .map_elements(_interval, return_dtype=pl.String)
        .alias("95% CI")
    ).drop("ci_low", "ci_high")
    order = [c for c in shown.columns if c not in ("95% CI", "p_value", "significant", "n")]
    shown = shown.select(*order, "95% CI", "p_value", "significant", "n")
    return html_table(
        shown,
        table_id="comparison-table",
        formats={"significant": lambda v: "★ yes" if v else "no"},
        row_class=lambda row: "significant" if row["significant"] else "",
    )


def _interval(bounds: dict[str, float | None]) -> str:
    if bounds["ci_low"] is None and bounds["ci_high"] is None:
        return MISSING
    return f"[{format_number(bounds['ci_low'])}, {format_number(bounds['ci_high'])}]"


def _share_interval(bounds: dict[str, float | None]) -> str:
    return f"[{format_share(bounds['ci_low'])}, {format_share(bounds['ci_high'])}]"


def _duration(started: Any, finished: Any) -> str | None:
    try:
        seconds = (
            datetime.fromisoformat(finished) - datetime.fromisoformat(started)
        ).total_seconds()
    except (TypeError, ValueError):
        return None
    return f"{seconds:.1f} s"


def _fact_text(value: Any) -> str:
    return format_number(value) if isinstance(value, (int, float)) else str(value)
