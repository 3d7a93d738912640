"""The report's text and table sections: run facts, per-arm summary, errors, comparison."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

import polars as pl

from runner.analysis.summary import client_lag_note
from runner.report.numbers import MISSING, format_number, format_share
from runner.report.tables import html_table
from runner.results.manifest import Manifest


def run_facts(manifest: Manifest) -> str:
    """The manifest's headline: experiment, run id, status, times, duration and counts."""
    counts = manifest.counts
    finished = manifest.finished_at
    facts = [
        ("experiment", manifest.experiment_name),
        ("description", manifest.experiment.get("description")),
        ("run id", manifest.run_id),
        ("status", str(manifest.status)),
        ("started", manifest.started_at.isoformat()),
        ("finished", finished.isoformat() if finished else None),
        ("duration", _duration(manifest.started_at, finished)),
        ("fingerprint", manifest.fingerprint),
        ("planned requests", counts.planned),
        ("requests", counts.requests),
        ("ok", counts.ok),
        ("errors", counts.errors),
        ("attempts", counts.attempts),
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


def lag_note(summary: pl.DataFrame) -> str:
    """The client-lag warning under the summary (`client_lag_note`), or nothing."""
    note = client_lag_note(summary)
    return f'<p class="warning" id="client-lag">{escape(note)}</p>' if note else ""


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


def _duration(started: datetime, finished: datetime | None) -> str | None:
    if finished is None:
        return None
    return f"{(finished - started).total_seconds():.1f} s"


def _fact_text(value: Any) -> str:
    return format_number(value) if isinstance(value, (int, float)) else str(value)
